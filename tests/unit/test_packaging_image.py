"""The image's rules, checked without a container engine (none exists on the development machine).

hadolint is a Haskell binary that no package registry reachable here ships, so the rules the issue sets for
the ``Dockerfile`` are tested directly on its instructions: a pinned slim base (tag and digest, never
``latest``), several stages, dependencies only from the hashed locks, a non-root numeric user, nothing that
needs a writable root filesystem, and ``statuswatch run`` as entry point. Each rule is a small function that
is also shown refusing a bad Dockerfile, so a rule that cannot fail would show here. The locks themselves
are checked against ``pyproject.toml``, and the shipped manifests against the image (same uid, a writable
``/tmp`` under a read-only root filesystem). The e2e test ``tests/e2e/test_install.py`` builds the image's
virtual environment from the same lock and runs the operator from it.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
OPERATOR_LOCK = ROOT / "requirements" / "operator.lock"
BUILD_LOCK = ROOT / "requirements" / "build.lock"
MANAGER = ROOT / "config" / "manager" / "manager.yaml"


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case
    arguments: str


def parse(text: str) -> list[Instruction]:
    """Dockerfile instructions with continuation lines joined and comments dropped."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, arguments = line.partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    """The instructions of each stage, each list starting with its FROM."""
    result: list[list[Instruction]] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def base_images(instructions: list[Instruction]) -> list[str]:
    """Every stage's base, with ``${ARG}`` replaced by the ARG's default; earlier stage names are kept."""
    defaults: dict[str, str] = {}
    images: list[str] = []
    for instruction in instructions:
        if instruction.keyword == "ARG" and "=" in instruction.arguments:
            name, _, value = instruction.arguments.partition("=")
            defaults[name.strip()] = value.strip()
        elif instruction.keyword == "FROM":
            image = instruction.arguments.split()[0]
            images.append(re.sub(r"\$\{(\w+)\}", lambda match: defaults.get(match[1], match[0]), image))
    return images


def base_problems(image: str) -> list[str]:
    """Why a base image reference is not pinned well enough (empty when it is)."""
    problems = []
    name, _, digest = image.partition("@")
    repository, _, tag = name.rpartition(":") if ":" in name.rpartition("/")[2] else (name, "", "")
    if "$" in image:
        problems.append(f"{image}: an ARG without a default")
    if not tag or tag == "latest":
        problems.append(f"{image}: no version tag (or 'latest')")
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        problems.append(f"{image}: not pinned by a sha256 digest")
    if repository.rpartition("/")[2] != "python" or "slim" not in tag:
        problems.append(f"{image}: not a slim Python image")
    return problems


def pip_install_problems(run: str) -> list[str]:
    """pip installs in a RUN that could fetch something unpinned: only ``--require-hashes -r <lock>`` and
    ``--no-deps`` of a local wheel are allowed."""
    problems = []
    for command in re.split(r"&&|;|\|\|", run):
        words = shlex.split(command)
        if "pip" not in {Path(word).name for word in words} or "install" not in words:
            continue
        if "--require-hashes" in words:
            index = words.index("-r") if "-r" in words else -1
            if index < 0 or not words[index + 1].endswith(".lock"):
                problems.append(f"{command.strip()}: --require-hashes without a lock")
        elif "--no-deps" in words:
            targets = [word for word in words[words.index("install") + 1 :] if not word.startswith("-")]
            if not targets or not all(target.endswith(".whl") for target in targets):
                problems.append(f"{command.strip()}: --no-deps install of something other than a built wheel")
        else:
            problems.append(f"{command.strip()}: neither --require-hashes from a lock nor --no-deps")
    return problems


def final_user(stage: list[Instruction]) -> str | None:
    users = [instruction.arguments for instruction in stage if instruction.keyword == "USER"]
    return users[-1] if users else None


def user_problems(user: str | None) -> list[str]:
    if user is None:
        return ["the final stage sets no USER (it would run as root)"]
    uid = user.partition(":")[0]
    if not uid.isdigit():
        return [f"USER {user}: not numeric (Kubernetes' runAsNonRoot cannot check a name)"]
    if int(uid) == 0:
        return [f"USER {user}: root"]
    return []


def exec_form(instruction: Instruction) -> list[str]:
    value = json.loads(instruction.arguments)
    assert isinstance(value, list), f"{instruction.keyword} is not in exec (JSON) form"
    return [str(item) for item in value]


def locked(lock: Path) -> dict[str, tuple[str, int]]:
    """``{name: (version, number of hashes)}`` of a pip-compile lock; every entry must be pinned."""
    entries: dict[str, tuple[str, int]] = {}
    text = lock.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement, *options = line.split()
        name, separator, version = requirement.partition("==")
        assert separator, f"{lock.name}: {requirement} is not pinned with =="
        hashes = [option for option in options if option.startswith("--hash=sha256:")]
        entries[str(canonicalize_name(name))] = (version, len(hashes))
    return entries


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return parse(DOCKERFILE.read_text())


def test_the_base_is_a_slim_python_pinned_by_tag_and_digest(instructions: list[Instruction]) -> None:
    images = base_images(instructions)

    assert len(images) >= 2, "a multi-stage build: the build tools stay out of the final image"
    assert [problem for image in images for problem in base_problems(image)] == []
    assert "latest" not in DOCKERFILE.read_text()


@pytest.mark.parametrize(
    ("image", "fault"),
    [
        ("python:latest@sha256:" + "a" * 64, "no version tag"),
        ("python:3.11-slim", "not pinned by a sha256 digest"),
        ("python@sha256:" + "a" * 64, "no version tag"),
        ("python:3.11@sha256:" + "a" * 64, "not a slim Python image"),
        ("${UNSET}", "an ARG without a default"),
    ],
)
def test_the_base_rule_refuses_loose_pins(image: str, fault: str) -> None:
    assert any(fault in problem for problem in base_problems(image))


def test_python_dependencies_come_only_from_the_hashed_locks(instructions: list[Instruction]) -> None:
    runs = [instruction.arguments for instruction in instructions if instruction.keyword == "RUN"]

    assert [problem for run in runs for problem in pip_install_problems(run)] == []
    joined = " ".join(runs)
    assert "--require-hashes -r requirements/operator.lock" in joined
    assert "--require-hashes -r requirements/build.lock" in joined
    # The project's own wheel is built without fetching build tools (they came from build.lock).
    assert "--no-build-isolation" in joined


@pytest.mark.parametrize(
    "run",
    [
        "pip install kopf",
        "pip install -r requirements.txt",
        "/opt/venv/bin/pip install --require-hashes kopf==1",
        "pip install --no-deps .",
        "python -m venv /v && /v/bin/pip install --upgrade pip",
    ],
)
def test_the_pip_rule_refuses_unpinned_installs(run: str) -> None:
    assert pip_install_problems(run)


def test_the_final_stage_runs_as_a_numeric_non_root_user_it_creates(instructions: list[Instruction]) -> None:
    final = stages(instructions)[-1]
    user = final_user(final)

    assert user_problems(user) == []
    assert user is not None
    uid = user.partition(":")[0]
    # A passwd entry for that uid: kopf's peering identity calls getpass.getuser().
    assert any(
        instruction.keyword == "RUN"
        and "useradd" in instruction.arguments
        and f"--uid {uid}" in instruction.arguments
        for instruction in final
    )


@pytest.mark.parametrize(("user", "fault"), [(None, "no USER"), ("app", "not numeric"), ("0:0", "root")])
def test_the_user_rule_refuses_root_and_names(user: str | None, fault: str) -> None:
    assert any(fault in problem for problem in user_problems(user))


def test_nothing_is_written_to_the_image_at_run_time(instructions: list[Instruction]) -> None:
    final = stages(instructions)[-1]
    environment = " ".join(instruction.arguments for instruction in final if instruction.keyword == "ENV")

    for setting in ("HOME=/tmp", "TMPDIR=/tmp", "PYTHONDONTWRITEBYTECODE=1"):
        assert setting in environment
    # Bytecode is compiled in the build stage, since it cannot be written next to the modules later.
    assert any("compileall" in instruction.arguments for instruction in stages(instructions)[0])


def test_the_entry_point_is_statuswatch_run(instructions: list[Instruction]) -> None:
    final = stages(instructions)[-1]
    (entrypoint,) = [instruction for instruction in final if instruction.keyword == "ENTRYPOINT"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]

    assert exec_form(entrypoint) == ["statuswatch", "run"]
    assert "statuswatch" in scripts


def test_the_build_context_holds_what_the_dockerfile_copies(instructions: list[Instruction]) -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    allowed = [pattern[1:].rstrip("/") for pattern in patterns if pattern.startswith("!")]
    sources = [
        source.rstrip("/").removeprefix("./")
        for instruction in instructions
        if instruction.keyword == "COPY" and "--from=" not in instruction.arguments
        for source in instruction.arguments.split()[:-1]
    ]

    assert patterns[0] == "*", "the context is an allow-list"
    for source in sources:
        assert any(source == entry or entry.startswith(f"{source}/") for entry in allowed), source
    # operator/statuswatch/manifests links to config/: the link needs its target in the context.
    assert "config" in allowed
    assert {"requirements/*.lock", "pyproject.toml", "README.md", "operator"} <= set(allowed)


@pytest.mark.parametrize("lock", [OPERATOR_LOCK, BUILD_LOCK], ids=["operator", "build"])
def test_every_locked_package_is_pinned_with_hashes(lock: Path) -> None:
    entries = locked(lock)

    assert entries
    assert {name: hashes for name, (_, hashes) in entries.items() if hashes == 0} == {}


def test_the_operator_lock_satisfies_pyproject() -> None:
    project: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    entries = locked(OPERATOR_LOCK)
    unmet = []
    for line in project["dependencies"]:
        requirement = Requirement(line)
        name = str(canonicalize_name(requirement.name))
        if name not in entries or not requirement.specifier.contains(entries[name][0], prereleases=True):
            unmet.append(f"{line} (locked: {entries.get(name, ('nothing',))[0]})")

    assert unmet == [], "refresh requirements/operator.lock (docs/operations.md, 'Upgrades')"


def test_the_build_lock_satisfies_the_build_system() -> None:
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    entries = locked(BUILD_LOCK)

    for line in requires:
        requirement = Requirement(line)
        version = entries[str(canonicalize_name(requirement.name))][0]
        assert requirement.specifier.contains(version), f"{line}: locked {version}"


def test_the_deployment_matches_the_image() -> None:
    (deployment,) = [
        document for document in yaml.safe_load_all(MANAGER.read_text()) if document["kind"] == "Deployment"
    ]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    final = stages(parse(DOCKERFILE.read_text()))[-1]
    user = final_user(final)
    assert user is not None
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    empty_dirs = {volume["name"] for volume in pod["volumes"] if "emptyDir" in volume}

    assert pod["securityContext"]["runAsNonRoot"] is True
    assert str(pod["securityContext"]["runAsUser"]) == user.partition(":")[0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert mounts.get("/tmp") in empty_dirs, "HOME and TMPDIR point at /tmp: it must be writable"
    # The entry point already says `run`; the arguments are its flags.
    assert container["args"][0].startswith("-")
    port = next(p["containerPort"] for p in container["ports"] if p["name"] == "metrics")
    assert f"--metrics-port={port}" in container["args"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
