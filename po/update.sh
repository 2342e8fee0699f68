#!/usr/bin/env bash
# Adds the words the code says and the catalogues lack to po/fr.po and
# po/en.po (empty translations to fill in; nothing is removed): the
# client's _(), N_() and ngettext(), and the settings module's tr().
# tests/integration/test_i18n.py fails while one is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
pot=$(mktemp --suffix=.pot)
trap 'rm -f "$pot"' EXIT
xgettext --from-code=UTF-8 -k_ -kN_ -kngettext:1,2 -ktr:2 --no-location -o "$pot" \
  src/client/*.c src/core/settings.c
for po in po/fr.po po/en.po; do
  msgmerge --quiet --update --backup=off --no-fuzzy-matching --no-location "$po" "$pot"
done
