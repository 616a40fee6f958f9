"""What decides an object's status above kstatus: user CEL rules, cluster defaults, the built-in library of
per-kind rules (data files with their fixtures), and the conventions kstatus misses.

    from statuswatch.rules import decide
    decision = decide(obj)            # decision.status, .reason, .message, .rule

Pure: no I/O beyond reading the package's own rule files, no asyncio, no client. See docs/rules.md.
"""

from statuswatch.rules.decide import MODES, RULE_KINDS, Decision, Mode, RuleSet, decide
from statuswatch.rules.groups import BUILT_IN_GROUPS, is_built_in_group
from statuswatch.rules.healthchecks import (
    HealthCheck,
    HealthCheckError,
    Verdict,
    health_checks_from_yaml,
    load_health_checks,
    parse_health_checks,
)
from statuswatch.rules.library import (
    LIBRARY_DIR,
    Fixture,
    Library,
    RuleFile,
    RuleFileError,
    builtin_library,
    load_rule_files,
)

__all__ = [
    "BUILT_IN_GROUPS",
    "LIBRARY_DIR",
    "MODES",
    "RULE_KINDS",
    "Decision",
    "Fixture",
    "HealthCheck",
    "HealthCheckError",
    "Library",
    "Mode",
    "RuleFile",
    "RuleFileError",
    "RuleSet",
    "Verdict",
    "builtin_library",
    "decide",
    "health_checks_from_yaml",
    "is_built_in_group",
    "load_health_checks",
    "load_rule_files",
    "parse_health_checks",
]
