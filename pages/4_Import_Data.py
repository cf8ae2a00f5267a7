"""Import data: upload CSV exports, map unknown columns, check everything, import, undo."""

import math

import streamlit as st

from practice import config, queries, ui
from practice.formatting import counts_text, escape_markdown
from practice.importing import (
    ENCODING_CHOICES,
    ImportRejected,
    UndoRefused,
    hash_files,
    permissions,
    preview,
    recall_mapping,
    undo_import,
)

REPORT_ROWS_SHOWN = 1000  # the download always holds every problem
UPLOADS_DONE = "uploads_done"  # session key: imports made here; each one empties the upload box


def upload_key(imports_done: int) -> str:
    """The upload box's widget key: a new key (a new, empty box) after each import."""
    return "csv" if imports_done == 0 else f"csv.{imports_done}"


ui.require_router(__file__)
st.caption(
    "Bring in the CSV exports of your practice software. Every file is checked first; nothing "
    "is stored until you press **Import**, and an import can be undone afterwards."
)
ui.explain(
    "What can I upload?",
    "- One row per session, or a separate **intake file** (one row per client) next to a "
    "**sessions file**: files uploaded together are checked together.\n"
    "- A **headache diary** (one row per client per day: client, date, headache yes/no or its "
    "severity, medication) is recognised by its columns and imported on its own, after the "
    "clients' sessions.\n"
    "- Comma, semicolon or tab separated; UTF-8 or UTF-16 text, or another encoding Headway "
    "detects (Windows-1252, Mac Roman) or that you choose below when it cannot tell.\n"
    "- Headers are matched ignoring case and punctuation, and common export names are known "
    "(`Practitioner` is the therapist, `Appointment Date` the session date). Columns Headway "
    "does not know can be mapped below; your choice is remembered for files with the same "
    "columns.\n"
    "- Re-importing a file changes nothing; a blank cell never erases a stored value.\n\n"
    "The full list of columns is in `docs/csv-format.md`.",
)


@st.cache_data(show_spinner="Reading the files…", max_entries=3)
def _previews(
    _files: list[tuple[str, bytes]], digest: str, encoding: str | None
) -> list[preview.FilePreview]:
    return preview.preview_files(_files, encoding=encoding)


@st.cache_data(show_spinner="Checking every row…", max_entries=3)
def _check(
    _files: list[tuple[str, bytes]],
    _read: list[preview.FilePreview],
    digest: str,
    encoding: str | None,
    mapping: tuple[tuple[str, str], ...],
    date_order: str,
    version: tuple[int, int],
) -> preview.UploadCheck:
    return preview.check_upload(  # the previews' tables: no file is parsed twice
        ui.get_engine(),
        _files,
        mapping=dict(mapping),
        date_order=preview.DATE_ORDER_OPTIONS[date_order],
        encoding=encoding,
        tables=preview.tables_of(_read),
    )


def _ask_undo(import_id: int) -> None:
    if ui.may_still_act("undo"):
        st.session_state["undo_pending"] = import_id


def _cancel_undo() -> None:
    st.session_state.pop("undo_pending", None)


def _confirm_undo(import_id: int) -> None:
    st.session_state.pop("undo_pending", None)
    if not ui.may_still_act("undo"):  # disabled or idle since the question was asked
        return
    try:
        actor = permissions.Actor.of(ui.current_user())
        undone = undo_import(ui.get_engine(), import_id, actor=actor)
    except UndoRefused as refused:
        st.session_state["undo_message"] = ("error", f"Nothing was undone: {refused}.")
        return
    ui.clear_caches()
    ui.audit("undo", f"import #{import_id}: {counts_text(undone)}")
    st.session_state.pop("import_done", None)
    shown = preview.undo_summary(
        import_id, undone, show_changes=permissions.sees_stored_values(actor)
    )
    st.session_state["undo_message"] = ("success", shown)


engine = ui.get_engine()
# Front desk never sees whether stored values differ from a file (practice.importing.permissions).
actor = permissions.Actor.of(ui.current_user())
show_changes = permissions.sees_stored_values(actor)

st.header("1. Upload")
uploaded = st.file_uploader(
    "CSV exports: one file, or several that belong together (an intake file and a sessions file)",
    accept_multiple_files=True,
    type=["csv", "txt", "tsv"],
    key=upload_key(st.session_state.get(UPLOADS_DONE, 0)),
    max_upload_size=max(1, math.ceil(config.MAX_UPLOAD_MB)),
    help=f"Up to {config.MAX_UPLOAD_MB:.0f} MB per file.",
)
files = [(f.name, f.getvalue()) for f in uploaded or []]
digest = hash_files(files) if files else ""
done = st.session_state.get("import_done")

if done and not files:  # the box was emptied by the import: the next upload starts afresh
    st.success(f"✅ Done: {done['summary']}.")
    st.caption("Notices about the import are listed in the import history below.")
    if ui.may_open("0_Overview.py"):
        st.page_link("pages/0_Overview.py", label="Open the Overview", icon="🏠")
elif files:
    st.session_state.pop("import_done", None)
    if st.session_state.get("mapping_digest") != digest:  # new files: start from memory again
        for key in [k for k in st.session_state if str(k).startswith("map_")]:
            del st.session_state[key]
        st.session_state["mapping_digest"] = digest
    encoding = st.selectbox(
        "Encoding",
        options=[None, *ENCODING_CHOICES],
        format_func=lambda name: name or "automatic (UTF-8, else detected)",
        key="encoding",
        help="Needed only when Headway cannot tell a file's encoding (it then says so and "
        "names the cells in doubt); saving the file as CSV UTF-8 avoids the question.",
    )
    previews = _previews(files, digest, encoding)
    readable = [p for p in previews if p.problem is None]

    st.header("2. Preview")
    st.caption("What Headway reads from each file: its columns and first rows.")
    preview_area = st.container()

    st.header("3. Columns and dates")
    unknown = preview.unrecognised_headers(readable)
    with engine.connect() as conn:
        remembered = {p.signature: recall_mapping(conn, p.signature) for p in readable}
    defaults = preview.remembered_choices(readable, remembered, [h for h, _ in unknown])
    choices: dict[str, str] = {}
    if unknown:
        st.write(
            "Headway does not recognise these columns. Choose the Headway column each one "
            "holds, or leave it ignored. When you import, your choice is remembered for files "
            "with the same columns."
        )
        grid = st.columns(3)
        for i, (header, in_files) in enumerate(unknown):
            default = defaults.get(header, "")
            with grid[i % 3]:
                choices[header] = st.selectbox(
                    escape_markdown(header),
                    options=preview.MAPPING_OPTIONS,
                    index=preview.MAPPING_OPTIONS.index(default),
                    format_func=preview.option_label,
                    key=preview.mapping_key(header),
                    help="In " + ", ".join(in_files),
                )
                if header in defaults:
                    st.caption("↺ remembered from an earlier import")
    else:
        st.write("✅ Every column is recognised.")
    date_order = st.radio(
        "Date order",
        options=list(preview.DATE_ORDER_OPTIONS),
        format_func=preview.DATE_ORDER_LABELS.get,
        key="date_order",
        horizontal=True,
        help="Needed only when a file's dates can be read both ways (every date like "
        "03/04/2025); otherwise Headway decides from the dates themselves.",
    )

    with preview_area:
        for p in previews:
            label = (
                f"📄 {escape_markdown(p.file)}: {p.rows:,} rows, {len(p.headers)} columns"
                f" · {preview.KIND_LABELS[p.kind]}"
            )
            with st.expander(label, expanded=len(previews) <= 2):
                if p.problem is not None:
                    st.error(escape_markdown(p.problem))
                    continue
                if p.notice is not None:
                    st.caption(escape_markdown(p.notice))
                left, right = st.columns([2, 3])
                left.caption("Columns")
                columns = preview.column_table(p.headers, choices, kind=p.kind)
                left.dataframe(columns, hide_index=True)
                right.caption("First rows (row numbers as your spreadsheet shows them)")
                right.dataframe(p.first_rows)

    st.header("4. Check")
    check = _check(
        files,
        previews,
        digest,
        encoding,
        tuple(sorted(choices.items())),
        date_order,
        ui.data_version(),
    )
    counts = preview.severity_counts(check.report)
    errors_col, warnings_col, notices_col = st.columns(3)
    errors_col.metric("Errors (stop the import)", counts["error"])
    warnings_col.metric("Warnings (imported anyway)", counts["warning"])
    notices_col.metric("Notices (for your information)", counts["notice"])
    if check.result is not None:
        st.write("If you import these files, the practice database changes like this:")
        changes = preview.change_table(check.result, check.clients_in_files)
        st.dataframe(permissions.change_counts(actor, changes), hide_index=True)
        st.caption(preview.MATCHING_TEXT[check.kind])
    if not check.errors.empty:
        st.error(
            f"{counts['error']} problem(s) stop this import, so nothing has been written. "
            "Each line names the file, the row (numbered as your spreadsheet numbers it) and "
            "the column. Fix them in the export and upload it again; a required column that "
            "the file holds under another name can be chosen in step 3."
        )
        st.dataframe(preview.report_table(check.errors).head(REPORT_ROWS_SHOWN), hide_index=True)
    if check.report.empty:
        st.success("No problems found.")
    else:
        with st.expander(f"Full report: every problem ({len(check.report):,})"):
            st.dataframe(
                preview.report_table(check.report).head(REPORT_ROWS_SHOWN), hide_index=True
            )
            if len(check.report) > REPORT_ROWS_SHOWN:
                st.caption(f"The first {REPORT_ROWS_SHOWN:,} are shown; the download has all.")
        ui.download_table(
            preview.report_table(check.report),
            "import-check.csv",
            label="Download the report (CSV)",
            key="report_csv",
        )

    if check.errors.empty:
        st.header("5. Import")
        if st.button("📥 Import", key="do_import", type="primary"):
            if not ui.may_still_act("import"):
                st.rerun()  # signed out: the sign-in form says why
            bar = st.progress(0.0, text="Step 1 of 2: the files are read and checked…")
            bar.progress(1 / 2, text="Step 2 of 2: writing to the database (all or nothing)…")
            try:
                user = ui.current_user()
                result = preview.import_checked(
                    engine,
                    check.batch,
                    imported_by=user.username if user is not None else None,
                    remember=preview.mappings_to_remember(readable, choices, remembered),
                )
            except ImportRejected as rejected:  # the stored data changed since the check
                bar.empty()
                st.error(
                    "Since the check, the stored data changed and the import now has errors, "
                    "so nothing was written. Every problem is listed here:"
                )
                st.dataframe(preview.report_table(rejected.report), hide_index=True)
            else:
                ui.clear_caches()
                ui.audit(
                    "import",
                    f"import #{result.import_id} ({', '.join(result.files)}): {result.summary()}",
                )
                bar.progress(1.0, text="Done.")
                st.session_state["import_done"] = {
                    "summary": result.summary(show_changes=show_changes),
                }
                # A new upload box: the next upload is checked on its own, not with these files.
                st.session_state[UPLOADS_DONE] = st.session_state.get(UPLOADS_DONE, 0) + 1
                st.rerun()

st.header("Import history")
message = st.session_state.pop("undo_message", None)
if message is not None:
    (st.success if message[0] == "success" else st.error)(message[1])
with engine.connect() as conn:
    imports = queries.fetch_imports(conn)
if imports.empty:
    st.info("Nothing has been imported yet.")
else:
    history = preview.history_table(imports, show_changes=show_changes)
    st.dataframe(
        history,
        hide_index=True,
        column_config={
            "Started": st.column_config.DatetimeColumn("Started (UTC)", format="D MMM YYYY, HH:mm"),
            "Undone": st.column_config.DatetimeColumn("Undone (UTC)", format="D MMM YYYY, HH:mm"),
        },
    )
    ui.download_table(history, "import-history.csv", key="history_csv")
    newest = preview.undoable_import(imports)
    if newest is not None:
        newest_id = int(newest["id"])
        with engine.connect() as conn:
            refusal = permissions.undo_refusal(
                conn, newest_id, permissions.Actor.of(ui.current_user())
            )
        if refusal is not None:
            st.caption(f"Import #{newest_id} cannot be undone by you: {refusal}.")
        elif st.session_state.get("undo_pending") == newest_id:
            st.warning(preview.undo_question(newest, show_changes=show_changes))
            yes, no, _ = st.columns([1, 1, 4])
            yes.button(
                "Yes, undo it",
                key="undo_confirm",
                type="primary",
                on_click=_confirm_undo,
                args=(newest_id,),
            )
            no.button("Cancel", key="undo_cancel", on_click=_cancel_undo)
        else:
            st.button(f"↩️ Undo #{newest_id}…", key="undo", on_click=_ask_undo, args=(newest_id,))
            st.caption(
                "Only the newest import can be undone: imports are undone one by one, newest "
                "first. Undoing removes what it added and restores what it changed."
            )
