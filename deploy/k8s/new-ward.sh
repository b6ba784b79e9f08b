#!/bin/sh
#   Write the Kubernetes overlay of one ward: deploy/k8s/wards/<code>/
#   (kustomization.yaml and ward.cfg). The ward's pods, Services, policies
#   and hardening come from the base deploy/k8s/ward/; the overlay holds
#   only what is the ward's own: its namespace hotline-ward-<code>, its
#   ward.cfg (from deploy/config/ward-31001.cfg with the code and name
#   replaced: edit its focal_points, contacts and notify before applying),
#   the city's federation endpoints, and its keys Secret.
#
#     deploy/k8s/new-ward.sh 31002 "Phường Hồng Bàng"
#
#   A ward code is 5 digits (the case number prefix). An existing overlay is
#   never overwritten.
set -eu
usage() { echo "usage: $0 CODE \"NAME\"   (CODE: 5 digits, e.g. 31002)" >&2; exit 2; }
[ $# -eq 2 ] || usage
code=$1 name=$2
case $code in
    [0-9][0-9][0-9][0-9][0-9]) ;;
    *) echo "$0: bad ward code '$code': 5 digits expected" >&2; exit 2 ;;
esac
case $name in
    ''|*'"'*|*'\'*) echo "$0: bad ward name '$name': not empty, no \" or \\" >&2; exit 2 ;;
esac
if printf '%s' "$name" | LC_ALL=C grep -q '[[:cntrl:]]'; then
    echo "$0: bad ward name: control characters" >&2; exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
template=$here/../config/ward-31001.cfg
dir=$here/wards/$code
[ -r "$template" ] || { echo "$0: $template missing" >&2; exit 1; }
if [ -e "$dir" ]; then
    echo "$0: $dir exists; not overwriting it" >&2; exit 1
fi
tmp=$here/wards/.$code.tmp.$$
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"

#   ward.cfg: the template's code (everywhere) and ward name replaced (sed's
#   replacement text escaped: & / and | are literal in a ward name)
escaped=$(printf '%s' "$name" | sed 's/[&/|]/\\&/g')
sed -e "s/31001/$code/g" \
    -e "s|^\(    ward_name = \)\"[^\"]*\"|\1\"$escaped\"|" \
    "$template" > "$tmp/ward.cfg"
grep -q "^    ward_code = $code" "$tmp/ward.cfg" || { echo "$0: template has no ward_code line" >&2; exit 1; }

cat > "$tmp/kustomization.yaml" <<KUST
#   Ward $code, $name: written by deploy/k8s/new-ward.sh. Apply with
#     kubectl kustomize --load-restrictor LoadRestrictionsNone deploy/k8s/wards/$code | kubectl apply -f -
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: hotline-ward-$code
resources:
  - ../../ward
generatorOptions:
  disableNameSuffixHash: true
configMapGenerator:
  - name: hotline-ward
    files:
      - ward.cfg
  - name: hotline-ward-env
    literals:
      - HOTLINE_ENDPOINTS_CITY=tcp://city-archive.hotline:7005
      - HOTLINE_ENDPOINTS_CITY_RETURN=tcp://city-archive.hotline:7007
secretGenerator:
  - name: hotline-keys
    files:
      - ward.cert=../../keys/ward-$code.cert
      - ward.cert_secret=../../keys/ward-$code.cert_secret
      - city.cert=../../keys/city.cert
KUST
mv "$tmp" "$dir"
trap - EXIT
echo "wrote $dir (edit ward.cfg's focal_points, contacts, notify; add keys/ward-$code.cert to the city's hotline-keys-city and the city archive's allow/ items, deploy/README.md)"
