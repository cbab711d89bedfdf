#!/usr/bin/env bash
# Rebuilds DataGenieSans-Regular.ttf: NanumGothic (SIL OFL 1.1, Debian package fonts-nanum) subset to Basic Latin,
# Latin-1, general punctuation, common symbols, Hangul Jamo, compatibility Jamo and all 11,172 Hangul syllables.
# NanumGothic's names are Reserved Font Names under the OFL, so the subset (a Modified Version) is renamed.
# Needs: apt-get install -y fonts-nanum; pip install fonttools.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="${1:-/usr/share/fonts/truetype/nanum/NanumGothic.ttf}"
out="$here/DataGenieSans-Regular.ttf"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
unicodes="U+0020-007E,U+00A0-00FF,U+2000-206F,U+20A9,U+20AC,U+2100-2122,U+2190-2199,U+2212,U+25A0-25CF"
unicodes="$unicodes,U+1100-11FF,U+3000-303F,U+3130-318F,U+AC00-D7A3,U+FF01-FF5E"
pyftsubset "$src" --unicodes="$unicodes" --no-hinting --desubroutinize --layout-features='*' \
  --name-IDs='*' --output-file="$tmp/subset.ttf"
python3 - "$tmp/subset.ttf" "$out" <<'PY'
import sys
from fontTools.ttLib import TTFont
font = TTFont(sys.argv[1])
name = font["name"]
copyright = "Copyright (c) 2010, NAVER Corporation. Modified (subset and renamed) for DataGenie."
family, style = "DataGenie Sans", "Regular"
name.names = []
for platform, encoding, lang in ((3, 1, 0x409), (1, 0, 0)):
    for name_id, text in (
        (0, copyright),
        (1, family),
        (2, style),
        (3, "DataGenie Sans Regular; subset of NanumGothic"),
        (4, f"{family} {style}"),
        (5, "Version 1.0"),
        (6, "DataGenieSans-Regular"),
        (13, "This Font Software is licensed under the SIL Open Font License, Version 1.1."),
        (14, "https://openfontlicense.org"),
    ):
        name.setName(text, name_id, platform, encoding, lang)
font.save(sys.argv[2])
PY
ls -l "$out"
