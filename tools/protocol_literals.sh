#!/bin/sh
# protocol_literals.sh [ROOT] - fails when a wire name is written as a string
# literal outside the protocol table (issue 9: no protocol fact is written
# down twice). The names are those of ROOT/src/core/protocol.h's macros:
# requests (OKT_W_*), events (OKT_E_*), replies (OKT_R_*, and every request
# with the <method>result suffix). Looked at: the string literals of
# ROOT/src (C, except protocol.h and protocol.c, which spell them) and
# ROOT/lua (Lua, either quote), in any ASCII case; comments are skipped.
#
# A literal that is the same word with another meaning (a Lua option key
# "login", an XML key of the COM reference) is exempt by a line of
# tools/protocol_literals.allow: "<path> <text>", where <text> is a fixed
# piece of the source line. Prints each offending line; exit status 1 if any.
set -eu
ROOT=${1:-.}
HERE=$(cd "$(dirname "$0")" && pwd)
HDR="$ROOT/src/core/protocol.h"
ALLOW="$HERE/protocol_literals.allow"

[ -r "$HDR" ] || { echo "protocol_literals: no $HDR" >&2; exit 2; }

# One name per line, "W name", "E name" or "R name".
names=$(sed -n 's/^#define OKT_\([WER]\)_[A-Z0-9_]*[ 	]*"\([^"]*\)".*/\1 \2/p' "$HDR")
nw=$(printf '%s\n' "$names" | grep -c '^W ' || true)
ne=$(printf '%s\n' "$names" | grep -c '^E ' || true)
if [ "$nw" -lt 10 ] || [ "$ne" -lt 2 ]; then
    echo "protocol_literals: cannot read the wire names of $HDR" >&2
    exit 2
fi

files=$(find "$ROOT/src" "$ROOT/lua" -type f \
    \( -name '*.c' -o -name '*.h' -o -name '*.lua' \) \
    ! -path "$ROOT/src/core/protocol.h" ! -path "$ROOT/src/core/protocol.c" |
    LC_ALL=C sort)
[ -n "$files" ] || exit 0

# awk: the names, then the allow list, then each source file; a scanner
# per line that keeps block comments and Lua long brackets across lines.
# shellcheck disable=SC2086
printf '%s\n' "$names" | awk -v root="$ROOT/" -v allowfile="$ALLOW" '
function literal(lit, line) {
    # the server matches method names in any case
    if (!(tolower(lit) in wire))
        return
    rel = FILENAME
    if (index(rel, root) == 1)
        rel = substr(rel, length(root) + 1)
    for (k = 1; k <= nallow; k++)
        if (apath[k] == rel && index(line, atext[k])) {
            aused[k] = 1
            return
        }
    printf "%s:%d: \"%s\" is a wire %s name: use protocol.h\n    %s\n",
           rel, FNR, lit, wire[lit], line
    bad++
}
function scan(line, lua,    n, i, c, d, q, j, lit) {
    n = length(line)
    i = 1
    while (i <= n) {
        if (inblock) {
            j = index(substr(line, i), lua ? "]]" : "*/")
            if (!j)
                return
            i += j + 1
            inblock = 0
            continue
        }
        c = substr(line, i, 1)
        d = substr(line, i, 2)
        if (!lua && d == "/*") { inblock = 1; i += 2; continue }
        if (!lua && d == "//") return
        if (lua && d == "--") {
            if (substr(line, i + 2, 2) == "[[") { inblock = 1; i += 4; continue }
            return
        }
        if (lua && d == "[[") { inblock = 1; i += 2; continue }
        if (c == "\"" || c == "\047") {
            q = c
            lit = ""
            j = i + 1
            while (j <= n && substr(line, j, 1) != q) {
                if (substr(line, j, 1) == "\\") {
                    lit = lit substr(line, j, 2)
                    j += 2
                } else {
                    lit = lit substr(line, j, 1)
                    j++
                }
            }
            # in C a single quote is a character, never a name
            if (q == "\"" || lua)
                literal(lit, line)
            i = j + 1
            continue
        }
        i++
    }
}
FILENAME == "-" {
    kind = $1 == "W" ? "request" : $1 == "E" ? "event" : "reply"
    wire[$2] = kind
    if ($1 == "W")
        wire[$2 "result"] = "reply"
    next
}
FNR == 1 {
    inblock = 0
    if (FILENAME == allowfile)
        inallow = 1
    else
        inallow = 0
}
inallow {
    if ($0 ~ /^[ \t]*(#|$)/)
        next
    nallow++
    apath[nallow] = $1
    t = $0
    sub(/^[ \t]*[^ \t]+[ \t]+/, "", t)
    atext[nallow] = t
    next
}
{ scan($0, FILENAME ~ /\.lua$/) }
END {
    for (k = 1; k <= nallow; k++)
        if (!aused[k])
            printf "protocol_literals: note: allow entry unused: %s %s\n",
                   apath[k], atext[k] > "/dev/stderr"
    exit bad ? 1 : 0
}' - "$ALLOW" $files
