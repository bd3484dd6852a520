# The one image deploy/ names (ghcr.io/virtmesh/virtmesh): api, controller and handler (and the
# launchers the handler starts) run from it with `python -m services.<name>`.
#
# It is built with the very script CI runs on every change (.ci/run -> tools/test.sh -> tools/setup.sh
# -> tools/install.sh): Debian 12's libvirt, QEMU, qemu-img, swtpm and iproute2 from tools/host.sh's
# package list, and the venv with libvirt-python built against libvirt-dev. These build machines have
# no container runtime, so the image itself is not built here; its steps are. (gcc and python3-dev are
# for building libvirt-python; a CI machine has them.)
FROM debian:12
COPY . /opt/virtmesh
WORKDIR /opt/virtmesh
RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        python3 python3-venv python3-dev gcc ca-certificates \
    && VIRTMESH_EXTRAS= bash tools/install.sh \
    && rm -rf /var/lib/apt/lists/*
ENV PATH=/opt/virtmesh/.venv/bin:$PATH PYTHONUNBUFFERED=1
USER root
ENTRYPOINT []
