#!/usr/bin/env python3
"""Writes a single-layer OCI image archive (what `podman save --format oci-archive` writes and
`ctr images import` reads) from a folder, with no daemon and no registry.

    oci-archive.py --name gantry.local/coredns:1.15.0 --rootfs DIR --out coredns.tar \
        --entrypoint /coredns --cmd -conf --cmd /etc/coredns/Corefile --user 65532 --port 53/udp

The layer is reproducible: entries sorted, owned by root, mtime 0; so the same folder gives the
same image digest, and an image re-imported after a rebuild of an unchanged binary is a no-op.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import tarfile


def layer_bytes(rootfs):
    """The rootfs as an uncompressed tar: folders first, then files, in name order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(rootfs):
            dirnames.sort()
            for name in sorted(dirnames) + sorted(filenames):
                full = os.path.join(dirpath, name)
                arc = os.path.relpath(full, rootfs)
                info = tar.gettarinfo(full, arcname=arc)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mtime = 0
                if info.isreg():
                    with open(full, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
    return buf.getvalue()


def blob(tar, data):
    digest = hashlib.sha256(data).hexdigest()
    info = tarfile.TarInfo("blobs/sha256/" + digest)
    info.size = len(data)
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))
    return "sha256:" + digest


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--name", required=True, help="full reference, e.g. gantry.local/pause:3.10")
    p.add_argument("--rootfs", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--entrypoint", action="append", default=[])
    p.add_argument("--cmd", action="append", default=[])
    p.add_argument("--user", default="65532")
    p.add_argument("--env", action="append", default=[])
    p.add_argument("--port", action="append", default=[], help="e.g. 53/udp, 8080/tcp")
    p.add_argument("--label", action="append", default=[], help="key=value")
    a = p.parse_args()

    raw = layer_bytes(a.rootfs)
    gz = gzip.compress(raw, compresslevel=6, mtime=0)
    config = {
        "architecture": {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine),
        "os": "linux",
        "config": {
            "User": a.user,
            "Entrypoint": a.entrypoint or None,
            "Cmd": a.cmd or None,
            "Env": ["PATH=/usr/local/bin:/usr/bin:/bin"] + a.env,
            "ExposedPorts": {port if "/" in port else port + "/tcp": {} for port in a.port} or None,
            "Labels": dict(kv.split("=", 1) for kv in a.label) or None,
        },
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]},
        "history": [{"created_by": "e2e-tests/images/oci-archive.py"}],
    }
    config["config"] = {k: v for k, v in config["config"].items() if v is not None}

    tmp = a.out + ".tmp"
    with tarfile.open(tmp, mode="w", format=tarfile.PAX_FORMAT) as tar:
        layer_digest = blob(tar, gz)
        config_bytes = json.dumps(config, sort_keys=True).encode()
        config_digest = blob(tar, config_bytes)
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": len(config_bytes)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": layer_digest, "size": len(gz)}],
        }
        manifest_bytes = json.dumps(manifest, sort_keys=True).encode()
        manifest_digest = blob(tar, manifest_bytes)
        index = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest, "size": len(manifest_bytes),
                # containerd names the imported image after the first; the second is the OCI spelling.
                "annotations": {"io.containerd.image.name": a.name,
                                "org.opencontainers.image.ref.name": a.name},
            }],
        }
        for name, data in (("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode()),
                           ("index.json", json.dumps(index, sort_keys=True).encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    os.replace(tmp, a.out)
    print(manifest_digest)


if __name__ == "__main__":
    main()
