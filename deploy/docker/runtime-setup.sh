#!/bin/sh
# Prepares a Debian bookworm root file system to run Switchyard; used by both Dockerfiles, so the image
# from official bases (../../Dockerfile) and the one from a debootstrapped base (Dockerfile.prebuilt)
# are laid out alike:
#   - the runtime libraries (installed with apt only when missing: the debootstrapped base has them);
#   - the non-root user `switchyard` (uid/gid 10001) owning /var/lib/switchyard/{profiles,input,output,journal},
#     so a new named volume mounted there starts owned by that user;
#   - /etc/switchyard for the pipeline configuration (mounted by compose or Kubernetes).
set -eu
PACKAGES="ca-certificates libzmq5 libopenblas0-pthread tini curl"
missing=""
for pkg in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb
groupadd --system --gid 10001 switchyard
useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/switchyard --shell /usr/sbin/nologin switchyard
for dir in profiles input output journal; do mkdir -p "/var/lib/switchyard/$dir"; done
mkdir -p /etc/switchyard
chown -R 10001:10001 /var/lib/switchyard
