#include "gatekeeper/admin/cli.hpp"

int main(int argc, char** argv) { return gatekeeper::admin::run_command_line(argc, argv); }
