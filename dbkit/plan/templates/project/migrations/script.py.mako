<%doc>
  Template for `alembic revision -m MESSAGE --rev-id NNNN`: a dbkit revision file.
  Alembic cannot write the SQL pair; `dbkit new NAME --phase P` writes the revision file,
  sql/, rollbacks/ and validations/ files at once and numbers them for you. If you use
  Alembic, pass --rev-id with the next four-digit number, then create sql/<file>.sql and
  rollbacks/<file>.sql with the same name as the revision file, and check the phase.
</%doc><%!
from pathlib import Path


def _phase_of(config, revision):
    """The phase of the parent revision, so a new migration continues the last phase."""
    from dbkit.plan import parse_revision_file

    versions = Path(config.get_main_option("script_location")).resolve() / "versions"
    for path in versions.glob(f"{revision}_*.py") if revision else ():
        try:
            return parse_revision_file(path, versions.parent.parent).phase
        except Exception:
            break
    return "main"
%>"""${message}."""

from dbkit.revision import sql_pair

revision = "${up_revision}"
down_revision = ${'None' if down_revision is None else '"%s"' % down_revision}
phase = "${_phase_of(config, down_revision)}"
upgrade, downgrade = sql_pair(__file__)
