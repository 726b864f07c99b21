#!/usr/bin/env python3
"""Deterministic identifier vectors whose validity is decided by python-stdnum.

Prints one JSON object per line: {"kind": "nir", "value": "...", "valid": true}. The C++ validators
must agree with stdnum on every line (tests/detect/validators_stdnum_test.cpp).

Kinds and the stdnum function that decides validity:
  nir    stdnum.fr.nir.is_valid
  siren  stdnum.fr.siren.is_valid
  siret  stdnum.fr.siret.is_valid
  iban   stdnum.iban.is_valid(value, check_country=False)
  luhn   stdnum.luhn.is_valid

Scope notes:
  - nir: stdnum checks only the characters and the key; the C++ validator also requires a sex digit
    in 1/2/3/4/7/8 and a month in 01-13, 20-42, 50-99. The generator therefore keeps those two fields
    inside that domain (mutations included), so the comparison covers everything else: key,
    Corsican 2A/2B departments, lengths, characters and separators. The structural checks are
    covered by the unit tests.
  - iban: the `iban` validator is the ISO 13616 check (registry country, BBAN structure, mod 97), so
    stdnum's optional national account checks (Belgium, Spain, Montenegro, Norway) are disabled.
"""

import json
import os
import random
import re
import sys

try:
    import stdnum
    from stdnum import iban as std_iban
    from stdnum import luhn as std_luhn
    from stdnum.fr import nir as std_nir
    from stdnum.fr import siren as std_siren
    from stdnum.fr import siret as std_siret
except ImportError as error:  # pragma: no cover - environment problem, reported to the test
    sys.stderr.write('stdnum_vectors.py: python-stdnum is not installed (%s); '
                     'install python3-stdnum (make test does it)\n' % error)
    sys.exit(3)

PER_KIND = 12000
SEED = 13616

DIGITS = '0123456789'
UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'
SEXES = '123478'
MONTHS = ['%02d' % m for m in list(range(1, 14)) + list(range(20, 43)) + list(range(50, 100))]


def emit(kind, value, valid):
    sys.stdout.write(json.dumps({'kind': kind, 'value': value, 'valid': bool(valid)}) + '\n')


def digits(rng, n):
    return ''.join(rng.choice(DIGITS) for _ in range(n))


def replace_at(value, pos, char):
    return value[:pos] + char + value[pos + 1:]


def other_digit(rng, current):
    return rng.choice([d for d in DIGITS if d != current])


def length_mutation(rng, value):
    if rng.random() < 0.5 and len(value) > 1:
        pos = rng.randrange(len(value))
        return value[:pos] + value[pos + 1:]
    pos = rng.randrange(len(value) + 1)
    return value[:pos] + rng.choice(DIGITS) + value[pos:]


# --- NIR ------------------------------------------------------------------------------------------

def nir_department(rng):
    roll = rng.random()
    if roll < 0.30:
        return rng.choice(['2A', '2B'])
    if roll < 0.40:
        return rng.choice(['97', '98', '99', '20'])
    return '%02d' % rng.randint(1, 95)


def nir_valid(rng):
    body = (rng.choice(SEXES) + digits(rng, 2) + rng.choice(MONTHS) + nir_department(rng)
            + digits(rng, 6))
    return body + std_nir.calc_check_digits(body)


def nir_spaced(value):
    return ' '.join((value[:1], value[1:3], value[3:5], value[5:7], value[7:10], value[10:13],
                     value[13:]))


def nir_mutate(rng, value):
    roll = rng.random()
    if roll < 0.20:  # wrong key, including impossible ones
        key = rng.choice(['00', '98', '99', '%02d' % rng.randint(1, 97)])
        return value[:13] + key
    if roll < 0.40:  # one digit outside sex and month
        pos = rng.choice([1, 2, 7, 8, 9, 10, 11, 12, 13, 14])
        return replace_at(value, pos, other_digit(rng, value[pos]))
    if roll < 0.50:  # another sex digit or month, same key
        if rng.random() < 0.5:
            return rng.choice(SEXES) + value[1:]
        return value[:3] + rng.choice(MONTHS) + value[5:]
    if roll < 0.70:  # department games: Corsica swaps, 20, lower case, impossible letters
        department = value[5:7]
        choices = ['2A', '2B', '20', '19', '18', '2a', '2b', '2C', 'A2', '2 ']
        replacement = rng.choice([c for c in choices if c != department])
        return value[:5] + replacement + value[7:]
    if roll < 0.80:  # department changed and key recomputed: valid for stdnum
        body = value[:5] + nir_department(rng) + value[7:13]
        return body + std_nir.calc_check_digits(body)
    if roll < 0.90:
        return length_mutation(rng, value)
    pos = rng.choice([1, 2, 7, 9, 12, 13, 14])  # a letter where a digit belongs
    return replace_at(value, pos, rng.choice(UPPER))


def gen_nir(rng):
    for _ in range(PER_KIND):
        value = nir_valid(rng)
        if rng.random() < 0.55:
            value = nir_mutate(rng, value)
        if rng.random() < 0.15:
            value = nir_spaced(value)
        emit('nir', value, std_nir.is_valid(value))


# --- SIREN / SIRET --------------------------------------------------------------------------------

def siren_valid(rng):
    body = digits(rng, 8)
    return body + std_luhn.calc_check_digit(body)


def gen_siren(rng):
    for _ in range(PER_KIND):
        value = siren_valid(rng)
        roll = rng.random()
        if roll < 0.25:
            pos = rng.randrange(9)
            value = replace_at(value, pos, other_digit(rng, value[pos]))
        elif roll < 0.35:
            value = digits(rng, 9)
        elif roll < 0.45:
            value = length_mutation(rng, value)
        elif roll < 0.50:
            value = replace_at(value, rng.randrange(9), rng.choice(UPPER))
        if rng.random() < 0.10:
            value = ' '.join((value[0:3], value[3:6], value[6:]))
        emit('siren', value, std_siren.is_valid(value))


def siret_la_poste(rng):
    body = '356000000' + digits(rng, 4)
    total = sum(int(c) for c in body)
    if rng.random() < 0.6:
        last = rng.choice([d for d in DIGITS if (total + int(d)) % 5 == 0])
    else:
        last = rng.choice(DIGITS)
    return body + last


def gen_siret(rng):
    for _ in range(PER_KIND):
        roll = rng.random()
        if roll < 0.25:
            value = siret_la_poste(rng)
        elif roll < 0.30:
            value = rng.choice(['35600000000048', '35600000000049', '35600000000040',
                                '35600000000055'])
        elif roll < 0.40:  # 14-digit Luhn holds but the SIREN part does not
            body = digits(rng, 13)
            value = body + std_luhn.calc_check_digit(body)
        else:
            body = siren_valid(rng) + digits(rng, 4)
            value = body + std_luhn.calc_check_digit(body)
        roll = rng.random()
        if roll < 0.25:
            pos = rng.randrange(14)
            value = replace_at(value, pos, other_digit(rng, value[pos]))
        elif roll < 0.32:
            value = length_mutation(rng, value)
        elif roll < 0.35:
            value = replace_at(value, rng.randrange(14), rng.choice(UPPER))
        if rng.random() < 0.10:
            value = ' '.join((value[0:3], value[3:6], value[6:9], value[9:]))
        emit('siret', value, std_siret.is_valid(value))


# --- IBAN -----------------------------------------------------------------------------------------

def iban_structures():
    path = os.path.join(os.path.dirname(stdnum.__file__), 'iban.dat')
    structures = {}
    with open(path, encoding='utf-8') as handle:
        for line in handle:
            match = re.match(r'([A-Z]{2}) .*bban="([^"]+)"', line)
            if match:
                structures[match.group(1)] = match.group(2)
    return structures


def bban_for(rng, structure):
    out = []
    for count, kind in re.findall(r'([0-9]+)!([nac])', structure):
        pool = {'n': DIGITS, 'a': UPPER, 'c': DIGITS + UPPER}[kind]
        out.extend(rng.choice(pool) for _ in range(int(count)))
    return ''.join(out)


def iban_valid(rng, country, structures):
    bban = bban_for(rng, structures[country])
    return country + std_iban.calc_check_digits(country + '00' + bban) + bban


def iban_mutate(rng, value, structures):
    roll = rng.random()
    if roll < 0.25:
        pos = rng.choice([2, 3])
        return replace_at(value, pos, other_digit(rng, value[pos]))
    if roll < 0.50:
        pos = rng.randrange(4, len(value))
        pool = DIGITS if value[pos] in UPPER else UPPER
        return replace_at(value, pos, rng.choice(pool + DIGITS))
    if roll < 0.60:
        return length_mutation(rng, value)
    if roll < 0.70:  # another country's code on this BBAN
        return rng.choice(['ZZ', 'US', 'XA', 'CA'] + sorted(structures)) + value[2:]
    if roll < 0.80:  # swap two adjacent characters
        pos = rng.randrange(4, len(value) - 1)
        return value[:pos] + value[pos + 1] + value[pos] + value[pos + 2:]
    if roll < 0.90:
        return value.lower()
    pos = rng.choice([2, 3])  # letters as check characters
    return replace_at(value, pos, rng.choice(UPPER))


def gen_iban(rng):
    structures = iban_structures()
    countries = sorted(structures)
    for _ in range(PER_KIND):
        country = 'FR' if rng.random() < 0.4 else rng.choice(countries)
        value = iban_valid(rng, country, structures)
        if rng.random() < 0.5:
            value = iban_mutate(rng, value, structures)
        roll = rng.random()
        if roll < 0.15:
            value = ' '.join(value[i:i + 4] for i in range(0, len(value), 4))
        elif roll < 0.18:
            value = '-'.join(value[i:i + 4] for i in range(0, len(value), 4))
        emit('iban', value, std_iban.is_valid(value, check_country=False))


# --- Luhn -----------------------------------------------------------------------------------------

def gen_luhn(rng):
    for i in range(PER_KIND):
        if i < 3:
            value = ['', '0', 'a'][i]
        else:
            body = digits(rng, rng.randint(1, 24))
            value = body + std_luhn.calc_check_digit(body)
            roll = rng.random()
            if roll < 0.30:
                pos = rng.randrange(len(value))
                value = replace_at(value, pos, other_digit(rng, value[pos]))
            elif roll < 0.40:
                value = digits(rng, rng.randint(1, 25))
            elif roll < 0.45:
                value = length_mutation(rng, value)
            elif roll < 0.50:
                value = replace_at(value, rng.randrange(len(value)), rng.choice(UPPER))
        emit('luhn', value, std_luhn.is_valid(value))


def main():
    rng = random.Random(SEED)
    gen_nir(rng)
    gen_siren(rng)
    gen_siret(rng)
    gen_iban(rng)
    gen_luhn(rng)


if __name__ == '__main__':
    main()
