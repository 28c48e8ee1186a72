"""DOCX to PDF with LibreOffice, safely: the file is made safe first (:mod:`signing.docx_safety`:
no external links, OLE or fetching fields), then converted with no network, no media or keys
visible (bubblewrap when present), and memory and CPU limits (``SIGNING_DOCX_*`` settings). It
may call :mod:`signing.docx_safety` and :mod:`signing.layout` (``RenderError``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

from django.utils.translation import gettext as _

from .layout import RenderError

# The log name stays "signing.render" (as before the split), so log filters and handlers
# configured for it keep working.
logger = logging.getLogger("signing.render")



def docx_timeout() -> int:
    from django.conf import settings

    return int(getattr(settings, "SIGNING_DOCX_TIMEOUT", 120))


def soffice_binary() -> str | None:
    from django.conf import settings

    configured = getattr(settings, "SIGNING_SOFFICE", None)
    if configured:
        return shutil.which(configured)
    return shutil.which("soffice") or shutil.which("libreoffice")


def docx_memory_bytes() -> int:
    from django.conf import settings

    return int(getattr(settings, "SIGNING_DOCX_MEMORY_MB", 2048)) * 1024 * 1024


def docx_sandbox_mode() -> str:
    """``auto`` (default): bubblewrap, refusing to convert when it cannot run;
    ``off``: no sandbox (the DOCX sanitiser alone), for hosts that cannot make namespaces."""
    from django.conf import settings

    return str(getattr(settings, "SIGNING_DOCX_SANDBOX", "auto") or "auto").lower()


# What LibreOffice needs to start, read-only: programs, libraries, fonts and its
# configuration. Nothing else of the host is visible: not the media folder with
# the seals and signature images, not the key folders, not /etc/mttq, not /home.
_SANDBOX_RO = ["/usr", "/etc/fonts", "/etc/libreoffice", "/etc/ld.so.cache",
               "/etc/alternatives", "/etc/localtime"]


@lru_cache(maxsize=1)
def _bwrap() -> str | None:
    """The bubblewrap binary, if it can make namespaces here (checked once per process)."""
    binary = shutil.which("bwrap")
    if not binary:
        return None
    try:
        probe = subprocess.run([binary, "--unshare-all", "--ro-bind", "/usr", "/usr",
                                "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib",
                                "--symlink", "usr/lib64", "/lib64", "/usr/bin/true"],
                               capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    if probe.returncode != 0:
        logger.warning("bubblewrap cannot run here: %s",
                       probe.stderr.decode("utf-8", "replace")[-500:])
        return None
    return binary


def sandboxed(command: list[str], scratch: Path, *, memory: int, cpu_seconds: int
              ) -> list[str] | None:
    """``command`` wrapped to run with no network, only ``scratch`` writable and limits.

    bubblewrap gives new user, network, PID, IPC and UTS namespaces (so as root, too,
    nothing of the host but the read-only system folders exists); ``prlimit`` caps
    the address space and CPU time. ``scratch`` is mounted at the same path so the
    paths in ``command`` keep working. ``None`` when bubblewrap cannot run here.
    """
    bwrap = _bwrap()
    if bwrap is None:
        return None
    binds: list[str] = []
    for path in _SANDBOX_RO:
        binds += ["--ro-bind-try", path, path]
    program = Path(command[0]).resolve()
    if not str(program).startswith("/usr/"):
        # A configured converter outside /usr (tests use small fake ones): only its folder.
        binds += ["--ro-bind", str(program.parent), str(program.parent)]
    prlimit = shutil.which("prlimit")
    limits = [prlimit, f"--as={memory}", f"--cpu={cpu_seconds}", "--"] if prlimit else []
    return [*limits, bwrap, "--unshare-all", "--die-with-parent", "--new-session",
            "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib",
            "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/sbin", "/sbin",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",  # noqa: S108 (a private tmpfs)
            *binds,
            "--bind", str(scratch), str(scratch), "--chdir", str(scratch),
            "--clearenv", "--setenv", "HOME", str(scratch), "--setenv", "PATH",
            "/usr/bin:/bin", "--setenv", "LANG", "C.UTF-8", *command]


def convert_docx(data: bytes, *, timeout: int | None = None) -> bytes:
    """DOCX → PDF with LibreOffice headless, sanitised and sandboxed.

    The package is first stripped of everything that reaches outside it
    (:mod:`signing.docx_safety`: external relationships, OLE, fetching fields).
    LibreOffice then runs under bubblewrap (:func:`sandboxed`): no network, only its
    scratch folder writable, the media and key folders not visible, address space
    and CPU time limited. Where bubblewrap cannot run the conversion is refused
    unless ``SIGNING_DOCX_SANDBOX=off`` says the sanitiser alone is accepted.

    Each conversion gets its own throw-away profile (``-env:UserInstallation``):
    LibreOffice locks a shared profile, so two conversions at once (two workers,
    two requests) would otherwise fail or hang. ``soffice`` is a launcher that
    forks ``soffice.bin``; it runs in its own session so a timeout kills the
    whole group instead of leaving an office process behind.
    """
    import signal

    from .docx_safety import UnsafeDocx, sanitize_docx

    soffice = soffice_binary()
    if not soffice:
        raise RenderError(_("LibreOffice is not installed on the server, so DOCX files cannot "
                            "be converted to PDF. Upload the main document as a PDF."))
    try:
        data = sanitize_docx(data).data
    except UnsafeDocx as exc:
        raise RenderError(str(exc)) from exc
    timeout = docx_timeout() if timeout is None else timeout
    with tempfile.TemporaryDirectory(prefix="mttq-docx-") as tmp:
        scratch = Path(tmp).resolve()
        src = scratch / "document.docx"
        src.write_bytes(data)
        profile = scratch / "profile"
        outdir = scratch / "out"
        command = [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless",
                   "--norestore", "--nolockcheck", "--convert-to", "pdf", "--outdir",
                   str(outdir), str(src)]
        if docx_sandbox_mode() != "off":
            wrapped = sandboxed(command, scratch, memory=docx_memory_bytes(),
                                cpu_seconds=max(timeout, 1))
            if wrapped is None:
                raise RenderError(_("DOCX files cannot be converted safely on this server "
                                    "(the converter's sandbox, bubblewrap, is missing or "
                                    "cannot run). Upload the main document as a PDF."))
            command = wrapped
        try:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       stdin=subprocess.DEVNULL, start_new_session=True,
                                       cwd=scratch)
        except OSError as exc:
            raise RenderError(_("LibreOffice could not be started, so the DOCX file was not "
                                "converted to PDF.")) from exc
        try:
            _out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise RenderError(_("Converting the DOCX file to PDF took longer than %(seconds)s "
                                "seconds and was stopped.") % {"seconds": timeout}) from exc
        out = outdir / "document.pdf"
        if process.returncode != 0 or not out.exists() or out.stat().st_size == 0:
            logger.warning("soffice exited %s: %s", process.returncode,
                           err.decode("utf-8", "replace")[-2000:])
            raise RenderError(_("The DOCX file could not be converted to PDF; check that it "
                                "opens in Word or LibreOffice and upload it again, or upload "
                                "a PDF."))
        return out.read_bytes()
