"""MiniCluster pods without Kubernetes: each pod a folder, each container a process.

A pod's folder stands in for what the kubelet and the operator give its
containers: the operator's volume (``/mnt/flux``), its ConfigMap
(``/flux_operator``), its other emptyDirs, the Secret mount, ``/tmp``. The
operator's broker script runs with those absolute paths rebased into the
folder, as the pod's broker container; ``flux-sidecar serve`` runs with the
chart's environment, rebased the same way, as its sidecar container. Two things
differ from a cluster, both network: brokers bind 127.0.0.1 on ports of their
own instead of ``eth0`` and the headless Service's names, and the sidecar
listens on 127.0.0.1 on a free port instead of 0.0.0.0:5000.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.operator import Revision
from tests.support.serverproc import ServerProcess, free_port, wait_ready

# Absolute paths the operator's scripts and the chart use, each a mount (or a
# container's own directory) in a real pod.
POD_PATHS = (
    "/mnt/flux",
    "/flux_operator",
    "/home/flux-operator",
    "/opt/software",
    "/tmp",
    "/etc/sudoers",
    "/etc/flux",
    "/usr/bin/goshare-wait-fs",
    "/var/run/secrets",
    "/dev/shm",
)
# Absolute paths that are the same in the test as in a container.
HOST_PATHS = {"/bin/sh", "/bin/bash", "/dev/null", "/usr/bin/time"}
_POD_PATH = re.compile(r"(?<![\w.$}{/:-])(" + "|".join(map(re.escape, POD_PATHS)) + r")(?![\w-])")
_ANY_PATH = re.compile(r"(?<![\w.$}{/:@-])/[A-Za-z_][\w.-]*(?:/[\w.*-]+)*")
EXIT_TIMEOUT = 120.0  # generous bounds on waits, never measurements
UTS_NAMESPACE = ("unshare", "--uts", "--")


def pods_unavailable() -> str | None:
    """Why pods cannot be run here (each needs a hostname of its own), or None."""
    try:
        subprocess.run([*UTS_NAMESPACE, "true"], check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "a pod needs its own hostname: `unshare --uts` needs root (or CAP_SYS_ADMIN)"
    return None


def flux_environment() -> dict[str, str]:
    """This process's environment without the Flux instance the tests run in."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLUX_", "PMI_")) or key == "FLUX_SIDECAR_CHROMIUM"
    }


@dataclass
class Pod:
    """One MiniCluster pod, ``<name>-<index>``, as a folder."""

    root: Path
    name: str
    index: int
    broker: subprocess.Popen[bytes] | None = None
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def hostname(self) -> str:
        return f"{self.name}-{self.index}"

    @property
    def mount(self) -> Path:
        """The operator's volume, ``/mnt/flux`` in every container of the pod."""
        return self.root / "mnt/flux"

    @property
    def completion_file(self) -> Path:
        return self.mount / "flux-operator-complete.txt"

    def rebase(self, text: str) -> str:
        return _POD_PATH.sub(lambda m: f"{self.root}{m.group(1)}", text)

    def unrebased_paths(self, script: str) -> set[str]:
        """Absolute paths left in a rebased script's commands that are not the host's."""
        commands = "\n".join(
            line for line in script.splitlines() if not line.lstrip().startswith("#")
        )
        return set(_ANY_PATH.findall(commands.replace(str(self.root), "@"))) - HOST_PATHS

    def prepare(self, revision: Revision, hosts: list[tuple[str, int]], curve_cert: Path) -> None:
        """What the operator's init container and ConfigMap leave in the pod (pkg/flux/view.go)."""
        config = self.mount / revision.config_root
        for folder in ("etc/flux/system/cron.d", "etc/flux/config", "var/lib/flux", "run/flux"):
            (config / folder).mkdir(parents=True, exist_ok=True)
        for folder in ("view/bin", "view/lib", "software"):
            (self.mount / folder).mkdir(parents=True, exist_ok=True)
        for folder in ("flux_operator", "home/flux-operator", "opt/software", "tmp", "root"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        (self.root / "workdir").mkdir(exist_ok=True)
        shutil.copy(curve_cert, self.root / "flux_operator/curve.cert")
        hostlist = f"{self.name}-[0-{len(hosts) - 1}]"
        (config / "etc/flux/system/hostlist").write_text(hostlist + "\n")
        (config / "etc/flux/config/broker.toml").write_text(
            broker_config(config, hosts), encoding="utf-8"
        )
        if revision.init_writes_resources:
            resources = subprocess.run(
                ["flux", "R", "encode", f"--hosts={hostlist}", "--local"],
                check=True,
                capture_output=True,
                env=flux_environment(),
                timeout=60,
            ).stdout
            (config / "etc/flux/system/R").write_bytes(resources)
        (self.mount / "flux-operator-done.txt").touch()
        self._stand_ins()

    def _stand_ins(self) -> None:
        """0.2.1's script downloads a helper it can do without: no downloads in a test."""
        bin_dir = self.root / "bin"
        bin_dir.mkdir(exist_ok=True)
        commands = {
            "curl": "#!/bin/sh\necho 'curl: no network in this pod' >&2\nexit 6\n",
            "wget": "#!/bin/sh\necho 'wget: no network in this pod' >&2\nexit 4\n",
        }
        for name, text in commands.items():
            (bin_dir / name).write_text(text)
            (bin_dir / name).chmod(0o755)

    def container_env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = flux_environment()
        env.update(
            PATH=f"{self.root / 'bin'}:{os.path.dirname(shutil.which('flux') or '')}:"
            f"{os.path.dirname(sys.executable)}:/usr/bin:/bin",
            HOME=str(self.root / "root"),
            # Kubernetes sets it in every container of an Indexed Job's pod.
            JOB_COMPLETION_INDEX=str(self.index),
        )
        env.update(extra or {})
        return env

    def start_broker_container(self, script: str) -> subprocess.Popen[bytes]:
        """The broker container: the operator's ``wait-0.sh``, run by bash as the pod runs it."""
        path = self.root / "flux_operator/wait-0.sh"
        path.write_text(script)
        log = (self.root / "broker-container.log").open("ab")
        # The pod's own hostname (its UTS namespace): the script picks the lead
        # broker's branch by it, and the broker finds its rank by it in [bootstrap] hosts.
        in_pod = 'hostname "$0" && exec /bin/bash "$1"'
        proc = subprocess.Popen(
            [*UTS_NAMESPACE, "/bin/sh", "-c", in_pod, self.hostname, str(path)],
            cwd=self.root / "workdir",
            env=self.container_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.broker = proc
        self.processes.append(proc)
        return proc

    def broker_log(self) -> str:
        return (self.root / "broker-container.log").read_text(errors="replace")

    def broker_socket(self, revision: Revision) -> Path:
        return self.mount / revision.config_root / "run/flux/local"

    def wait_for_socket(self, revision: Revision, broker: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + EXIT_TIMEOUT
        while not self.broker_socket(revision).exists():
            assert broker.poll() is None, self.broker_log()
            assert time.monotonic() < deadline, f"no broker socket:\n{self.broker_log()}"
            time.sleep(0.1)

    def mount_secret(self, directory: str, files: Mapping[str, str]) -> None:
        """A Secret volume as the kubelet writes it: a timestamped folder behind ``..data``."""
        target = Path(self.rebase(directory))
        data = target / "..2026_12_02_00_00_00.000000000"
        data.mkdir(parents=True)
        for name, value in files.items():
            (data / name).write_text(value)
            (target / name).symlink_to(Path("..data") / name)
        (target / "..data").symlink_to(data.name)

    def start_sidecar_container(
        self, chart_env: Mapping[str, str], token: str, *, wait: bool = True
    ) -> ServerProcess:
        """The sidecar container: the image's entrypoint with the chart's environment."""
        port = free_port()
        env = self.container_env({k: self.rebase(v) for k, v in chart_env.items()})
        env.update(
            FLUX_SIDECAR_HOST="127.0.0.1",
            FLUX_SIDECAR_PORT=str(port),
            # In a pod the default, /mnt/flux, is right.
            FLUX_SIDECAR_FLUX_MOUNT_PATH=str(self.mount),
            PYTHONUNBUFFERED="1",
        )
        (self.root / "dev/shm").mkdir(parents=True, exist_ok=True)
        log = self.root / f"sidecar-{port}.log"
        entrypoint = Path(sys.executable).with_name("flux-sidecar")
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [str(entrypoint), "serve"],
                cwd=self.root / "workdir",
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(proc)
        server = ServerProcess(url=f"http://127.0.0.1:{port}", token=token, proc=proc, log=log)
        if wait:
            wait_ready(server.url, proc, log, timeout=EXIT_TIMEOUT)
        return server

    def kill_broker_container(self) -> None:
        """The broker container dies whole: its script, the broker and their children."""
        if self.broker is not None:
            _kill(self.broker)

    def kill_everything(self) -> None:
        for proc in self.processes:
            _kill(proc)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # a container's processes are one group
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()


def broker_config(config: Path, hosts: list[tuple[str, int]]) -> str:
    """The operator's broker.toml (``generateBrokerConfig``), with loopback addresses.

    The operator binds ``tcp://eth0:%p`` and connects to each host by its name
    under the headless Service; here every broker has a port of its own on
    127.0.0.1.
    """
    entries = "\n".join(
        f'{{ host="{host}", bind="tcp://127.0.0.1:{port}", connect="tcp://127.0.0.1:{port}" }},'
        for host, port in hosts
    )
    return f"""[access]
allow-guest-user = true
allow-root-owner = true

[resource]
path = "{config}/etc/flux/system/R"

[bootstrap]
curve_cert = "{config}/curve/curve.cert"
hosts = [
{entries}
]

[archive]
dbpath = "{config}/var/lib/flux/job-archive.sqlite"
period = "1m"
busytimeout = "50s"

[sched-fluxion-qmanager]
queue-policy = "fcfs"
"""
