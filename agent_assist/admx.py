"""Group Policy templates (ADMX + en-US ADML) generated from the settings schema.

One policy per setting, in one category per table, under "Agent Assist". Each
writes ``HKLM\\SOFTWARE\\Policies\\AgentAssist\\<table>`` value ``<name>``, which
:mod:`agent_assist.winpolicy` reads (and locks): bool settings as DWORD 0/1,
whole numbers as DWORD with the schema's limits, choices as a drop-down of
strings, other text and decimals as REG_SZ. ``agent-assist policy templates
--out DIR`` writes ``AgentAssist.admx`` and ``en-US/AgentAssist.adml`` for IT to
copy into the domain's PolicyDefinitions (Central Store).

The files are generated and checked as XML here; they have not been loaded into
the Group Policy editor on Windows by this project.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from agent_assist import __version__
from agent_assist.schema import SCHEMA, TABLES, Spec
from agent_assist.winpolicy import GPO_KEY

__all__ = ["ADML_NAME", "ADMX_NAME", "adml", "admx"]

ADMX_NAME = "AgentAssist.admx"
ADML_NAME = "AgentAssist.adml"
_NS = "http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions"
_TABLE_TITLES = {
    "server": "Announcement server",
    "models": "Speech models",
    "knowledge": "Knowledge base",
    "privacy": "Privacy",
    "audio": "Audio devices",
    "coaching": "Coaching",
    "ui": "Window and display",
    "updates": "Updates",
}


def _id(key: str) -> str:
    return key.replace(".", "_")


def _element(spec: Spec) -> str:
    """The <elements> content of a policy (empty for bool, which uses enabled/disabled values)."""
    name = spec.key.split(".")[1]
    ident = _id(spec.key)
    if spec.kind == "int":
        assert spec.low is not None
        assert spec.high is not None
        return (
            f'<decimal id="{ident}" valueName="{name}" required="true" '
            f'minValue="{int(spec.low)}" maxValue="{int(spec.high)}"/>'
        )
    if spec.choices:
        items = "".join(
            f'<item displayName="$(string.{ident}_{_id(choice.replace("-", "_"))})">'
            f"<value><string>{escape(choice)}</string></value></item>"
            for choice in spec.choices
        )
        return f'<enum id="{ident}" valueName="{name}" required="true">{items}</enum>'
    return f'<text id="{ident}" valueName="{name}" maxLength="1024"/>'


def admx() -> str:
    """The ADMX file (policy definitions) as UTF-8 XML text."""
    categories = ['<category name="AgentAssist" displayName="$(string.AgentAssist)"/>']
    categories += [
        f'<category name="cat_{table}" displayName="$(string.cat_{table})">'
        '<parentCategory ref="AgentAssist"/></category>'
        for table in sorted(TABLES)
    ]
    policies = []
    for key, spec in SCHEMA.items():
        table, name = key.split(".")
        ident = _id(key)
        head = (
            f'<policy name="{ident}" class="Machine" displayName="$(string.{ident})" '
            f'explainText="$(string.{ident}_help)" key="{GPO_KEY}\\{table}"'
        )
        tail = f'<parentCategory ref="cat_{table}"/><supportedOn ref="SUPPORTED_AgentAssist"/>'
        if spec.kind == "bool":
            policies.append(
                f'{head} valueName="{name}">{tail}'
                '<enabledValue><decimal value="1"/></enabledValue>'
                '<disabledValue><decimal value="0"/></disabledValue></policy>'
            )
        else:
            policies.append(
                f'{head} presentation="$(presentation.{ident})">{tail}'
                f"<elements>{_element(spec)}</elements></policy>"
            )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<policyDefinitions xmlns="{_NS}" revision="1.0" schemaVersion="1.0">\n'
        '  <policyNamespaces><target prefix="agentassist" namespace="AgentAssist.Policies"/>'
        '<using prefix="windows" namespace="Microsoft.Policies.Windows"/></policyNamespaces>\n'
        '  <resources minRequiredRevision="1.0"/>\n'
        '  <supportedOn><definitions><definition name="SUPPORTED_AgentAssist" '
        'displayName="$(string.SUPPORTED_AgentAssist)"/></definitions></supportedOn>\n'
        "  <categories>\n    " + "\n    ".join(categories) + "\n  </categories>\n"
        "  <policies>\n    " + "\n    ".join(policies) + "\n  </policies>\n"
        "</policyDefinitions>\n"
    )


def _presentation(spec: Spec) -> str | None:
    ident = _id(spec.key)
    label = f"<label>{escape(spec.key)}</label>"
    if spec.kind == "bool":
        return None
    if spec.kind == "int":
        return (
            f'<presentation id="{ident}"><decimalTextBox refId="{ident}" '
            f'defaultValue="{spec.default}">{escape(spec.key)}</decimalTextBox></presentation>'
        )
    if spec.choices:
        return (
            f'<presentation id="{ident}"><dropdownList refId="{ident}" noSort="true" '
            f'defaultItem="{spec.choices.index(str(spec.default))}">{escape(spec.key)}'
            "</dropdownList></presentation>"
        )
    default = f"<defaultValue>{escape(str(spec.default))}</defaultValue>" if spec.default else ""
    return (
        f'<presentation id="{ident}"><textBox refId="{ident}">{label}{default}</textBox>'
        "</presentation>"
    )


def adml() -> str:
    """The en-US ADML file (display strings and presentations) as UTF-8 XML text."""
    strings = {
        "AgentAssist": "Agent Assist",
        "SUPPORTED_AgentAssist": f"Agent Assist {__version__} and later",
        **{f"cat_{table}": _TABLE_TITLES.get(table, table) for table in TABLES},
    }
    for key, spec in SCHEMA.items():
        ident = _id(key)
        strings[ident] = key  # the name IT knows from site.toml
        locked = "Users cannot change a setting this policy sets."
        default = f"Default: {spec.default!r}." if spec.default != "" else "Default: empty."
        strings[f"{ident}_help"] = f"{spec.help}\n\n{default} {locked} (Setting {key}.)"
        for choice in spec.choices:
            strings[f"{ident}_{_id(choice.replace('-', '_'))}"] = choice
    table = "\n      ".join(
        f"<string id={quoteattr(k)}>{escape(v)}</string>" for k, v in strings.items()
    )
    presentations = "\n      ".join(p for s in SCHEMA.values() if (p := _presentation(s)))
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<policyDefinitionResources xmlns="{_NS}" revision="1.0" schemaVersion="1.0">\n'
        "  <displayName>Agent Assist</displayName>\n"
        "  <description>Site policy for Agent Assist (generated from its settings schema)"
        "</description>\n"
        "  <resources>\n"
        f"    <stringTable>\n      {table}\n    </stringTable>\n"
        f"    <presentationTable>\n      {presentations}\n    </presentationTable>\n"
        "  </resources>\n"
        "</policyDefinitionResources>\n"
    )
