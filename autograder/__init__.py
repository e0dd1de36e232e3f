"""The engine of the course: grading, sandboxing, releasing, validating (see README.md)."""

import sys

# jsonschema (imported by nbformat) imports rfc3987_syntax when it is installed, and that module builds a
# parser for IRIs at import: 2.4 s of every `course` command, for a JSON-schema format that no notebook
# schema uses. Keep it out, unless the host program has loaded it already.
sys.modules.setdefault("rfc3987_syntax", None)
