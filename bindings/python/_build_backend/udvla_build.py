"""A PEP 517 / PEP 660 build backend for the udvla package, standard library only.

It writes the wheel itself (the package is pure Python), so that installing works where no build
tools can be downloaded. Setting UDVLA_BUNDLE_LIBRARY (or the config setting bundle-library) to a
libudvla.so.1 puts that library beside the package, where udvla finds it without UDVLA_LIBRARY; the
wheel is then tagged for this platform.
"""

import base64
import hashlib
import io
import os
import sysconfig
import tarfile
import zipfile

NAME = "udvla"
VERSION = "1.0.0"
SUMMARY = "UD-VLA robot policies on Vulkan: Python bindings of libudvla.so.1 (ctypes)"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIST_INFO = f"{NAME}-{VERSION}.dist-info"


def _metadata():
    return (f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\nSummary: {SUMMARY}\n"
            "Requires-Python: >=3.8\nProvides-Extra: numpy\nRequires-Dist: numpy; extra == \"numpy\"\n")


def _bundled_library(config_settings):
    path = (config_settings or {}).get("bundle-library") or os.environ.get("UDVLA_BUNDLE_LIBRARY")
    if not path:
        return None
    if not os.path.isfile(path):
        raise FileNotFoundError(f"bundle-library {path} is not a file")
    return path


def _tag(bundled):
    if not bundled:
        return "py3-none-any"
    return "py3-none-" + sysconfig.get_platform().replace("-", "_").replace(".", "_")


def _wheel_file(bundled):
    return (f"Wheel-Version: 1.0\nGenerator: udvla_build {VERSION}\n"
            f"Root-Is-Purelib: {'false' if bundled else 'true'}\nTag: {_tag(bundled)}\n")


def _package_files():
    pkg = os.path.join(ROOT, NAME)
    for name in sorted(os.listdir(pkg)):
        if name.endswith(".py"):
            yield f"{NAME}/{name}", os.path.join(pkg, name)


class _Wheel:
    """A wheel being written, with its RECORD."""

    def __init__(self, path):
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)
        self.record = []

    def add(self, arcname, data, mode=0o644):
        info = zipfile.ZipInfo(arcname, date_time=(2024, 1, 1, 0, 0, 0))
        info.external_attr = (0o100000 | mode) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        self.zip.writestr(info, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        self.record.append(f"{arcname},sha256={digest},{len(data)}")

    def close(self):
        self.record.append(f"{DIST_INFO}/RECORD,,")
        self.zip.writestr(f"{DIST_INFO}/RECORD", "\n".join(self.record) + "\n")
        self.zip.close()


def _wheel_name(bundled):
    return f"{NAME}-{VERSION}-{_tag(bundled)}.whl"


def _add_dist_info(w, bundled):
    w.add(f"{DIST_INFO}/METADATA", _metadata().encode())
    w.add(f"{DIST_INFO}/WHEEL", _wheel_file(bundled).encode())
    w.add(f"{DIST_INFO}/top_level.txt", f"{NAME}\n".encode())


# ---- PEP 517 hooks ----

def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    d = os.path.join(metadata_directory, DIST_INFO)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "METADATA"), "w") as f:
        f.write(_metadata())
    with open(os.path.join(d, "WHEEL"), "w") as f:
        f.write(_wheel_file(_bundled_library(config_settings)))
    return DIST_INFO


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    bundled = _bundled_library(config_settings)
    name = _wheel_name(bundled)
    w = _Wheel(os.path.join(wheel_directory, name))
    for arcname, path in _package_files():
        with open(path, "rb") as f:
            w.add(arcname, f.read())
    if bundled:
        with open(bundled, "rb") as f:
            w.add(f"{NAME}/libudvla.so.1", f.read(), mode=0o755)
    _add_dist_info(w, bundled)
    w.close()
    return name


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    name = _wheel_name(None)
    w = _Wheel(os.path.join(wheel_directory, name))
    w.add(f"__editable__.{NAME}.pth", (ROOT + "\n").encode())
    _add_dist_info(w, None)
    w.close()
    return name


def build_sdist(sdist_directory, config_settings=None):
    base = f"{NAME}-{VERSION}"
    name = f"{base}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz", format=tarfile.PAX_FORMAT) as tar:
        def add_bytes(arcname, data):
            info = tarfile.TarInfo(f"{base}/{arcname}")
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))

        add_bytes("PKG-INFO", _metadata().encode())
        for rel in ["pyproject.toml", "_build_backend/udvla_build.py"] + [a for a, _ in _package_files()]:
            with open(os.path.join(ROOT, rel), "rb") as f:
                add_bytes(rel, f.read())
    return name
