"""Every session-state key the pages read or write in code, as one typed object over st.session_state.

    from pages._state import state
    state.quiz.session_id = sess.id          # st.session_state["quiz_session_id"]
    del state.quiz.session_id                # pop (no error when unset)
    state.browse.page                        # 0 when unset

Keys of widgets that only the widget itself reads stay at the widget (`key=`); a key that code also
reads or writes is declared here, once, with its type and default. The key strings are part of the
app's behaviour (tests inject values through them, Browse hands the quiz an image through one):
change one only together with every reader. A page adds its own group as a small class below and
one attribute of `SessionState`, e.g.

    class VideoKeys:
        job: Slot[str | None] = Slot("video_job")   # state.video.job
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

import streamlit as st

from nnus_core.geometry import BoxPx

T = TypeVar("T")


class Slot(Generic[T]):
    """One session-state entry: its key and what reading it gives when it is unset.

    With `factory`, a first read stores a fresh value (a set, a dict), so mutating it in place sticks.
    """

    def __init__(self, key: str, default: T | None = None, *, factory: Callable[[], T] | None = None) -> None:
        self.key = key
        self.default = default
        self.factory = factory

    @overload
    def __get__(self, obj: None, owner: type) -> Slot[T]: ...
    @overload
    def __get__(self, obj: object, owner: type) -> T: ...
    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        if self.factory is not None:
            return st.session_state.setdefault(self.key, self.factory())
        return st.session_state.get(self.key, self.default)

    def __set__(self, obj: object, value: T) -> None:
        st.session_state[self.key] = value

    def __delete__(self, obj: object) -> None:
        st.session_state.pop(self.key, None)


def pop(slot: Slot[T]) -> T | None:
    """Read an entry once and remove it (a message shown on the next run only)."""
    return st.session_state.pop(slot.key, None)


def _per_question(prefix: str) -> Callable[[str], str]:
    """A family of keys, one per question instance: `prefix_<instance id>`."""
    return lambda instance_id: f"{prefix}_{instance_id}"


class QuizKeys:
    """The quiz and progress pages."""

    student: Slot[tuple[int, str] | None] = Slot("quiz_student")  # (id, display name)
    session_id: Slot[str | None] = Slot("quiz_session_id")
    # Set by Browse ("Quiz me on this image"), also passed as ?image=STEM.
    focus_image: Slot[str | None] = Slot("quiz_image")
    current: Slot[str | None] = Slot("quiz_current_instance")  # id of the question on screen
    show_summary: Slot[bool] = Slot("quiz_show_summary", False)
    flash: Slot[str | None] = Slot("quiz_flash")
    submitted: Slot[set[str]] = Slot("quiz_submitted_here", factory=set)  # ids this session answered
    # {question id: PendingAnswer}: answers the database has not taken yet.
    pending: Slot[dict[str, Any]] = Slot("quiz_pending", factory=dict)
    retry_now: Slot[bool] = Slot("quiz_retry_now", False)

    # Per-question widget families: a new `redo` gives the drawing component a new key (no box).
    @staticmethod
    def box_key(instance_id: str, redo: int = 0) -> str:
        """Session key of the drawing component of a question."""
        return f"quiz_box_{instance_id}_{redo}"

    # Per question: the drawing's redo count; Label all's boxes so far ([[organ_id, x1, y1, x2, y2], ...])
    # and the organ picked for the next box (a selectbox); Identify's chosen organ (a radio).
    redo_key = staticmethod(_per_question("quiz_redo"))
    labels_key = staticmethod(_per_question("quiz_labels"))
    label_organ_key = staticmethod(_per_question("quiz_label_organ"))
    choice_key = staticmethod(_per_question("quiz_choice"))

    def redo(self, instance_id: str) -> int:
        return int(st.session_state.get(self.redo_key(instance_id), 0))

    def clear_box(self, instance_id: str) -> None:
        st.session_state[self.redo_key(instance_id)] = self.redo(instance_id) + 1

    def drawing_key(self, instance_id: str) -> str:
        """The key of the drawing component shown now for a question."""
        return self.box_key(instance_id, self.redo(instance_id))

    def drag(self, instance_id: str) -> dict | None:
        """The drawing's last drag for a question (corners in the drawn image's pixels), None before one."""
        from pages._boxdraw import drag_value

        return drag_value(self.drawing_key(instance_id))

    def labels(self, instance_id: str) -> list[tuple[int, BoxPx]]:
        return [(int(o), BoxPx(*b)) for o, *b in st.session_state.get(self.labels_key(instance_id), [])]

    def set_labels(self, instance_id: str, labels: list[tuple[int, BoxPx]]) -> None:
        st.session_state[self.labels_key(instance_id)] = [[o, *b.as_tuple()] for o, b in labels]

    def label_organ(self, instance_id: str) -> int | None:
        return st.session_state.get(self.label_organ_key(instance_id))

    def clear_label_organ(self, instance_id: str) -> None:
        st.session_state.pop(self.label_organ_key(instance_id), None)


class BrowseKeys:
    """Browse: the grid page, the teaching card and the filters."""

    page: Slot[int] = Slot("browse_page", 0)
    page_size: Slot[int | None] = Slot("browse_page_size")  # the "Per page" control
    filter_signature: Slot[tuple | None] = Slot("browse_sig")  # a changed filter restarts at page 1
    card: Slot[int] = Slot("browse_card", 0)  # the organ whose teaching card is open
    card_image: Slot[str | None] = Slot("browse_card_image")  # the image the card was chosen on

    @staticmethod
    def clear_filters(n_organs: int) -> None:
        """Reset the filter widgets (organs present/absent, split, subject, organ count, name)."""
        for k, v in (
            ("browse_present", []),
            ("browse_absent", []),
            ("browse_split", []),
            ("browse_subject", []),
            ("browse_n", (0, n_organs)),
            ("browse_text", ""),
        ):
            st.session_state[k] = v


class CompareKeys:
    image: Slot[str | None] = Slot("compare_image")  # the image shown (the selectbox)
    synced: Slot[str | None] = Slot("compare_synced")  # the ?image= last taken from the URL


class ClassroomKeys:
    """Question sets, assignments and the dashboard."""

    set_id: Slot[int | None] = Slot("classroom_set")  # the set being edited (Question sets page)
    # The dashboard's drill-down: the cell chosen (student record id, organ id); set by a click
    # on the heatmap or the two selectboxes.
    drill: Slot[tuple[int, int] | None] = Slot("dashboard_drill")


class HomeKeys:
    # (upload id, folder or None, error): a zip is imported once, then its bytes are freed.
    zip_done: Slot[tuple[str, str | None, str] | None] = Slot("home_zip_imported")
    zip_widget: Slot[int] = Slot("home_zip_widget", 0)  # a new uploader after each import


class ReportKeys:
    fail_page: Slot[int] = Slot("report_fail_page", 0)  # the page of the gallery of misses


class ViewerKeys:
    """The image viewer's settings under one key prefix (`image_viewer(key=...)`)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def key(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    def get(self, name: str, default: Any = None) -> Any:
        return st.session_state.get(self.key(name), default)

    def set(self, name: str, value: Any) -> None:
        st.session_state[self.key(name)] = value

    def setdefault(self, name: str, value: Any) -> None:
        st.session_state.setdefault(self.key(name), value)


class LiveKeys:
    """The live session pages: the instructor's running session, a student's place in one."""

    session_id: Slot[int | None] = Slot("live_session_id")  # the instructor's session on screen
    participant_id: Slot[int | None] = Slot("live_participant_id")  # the student's place
    # What the page drew last (Pulse.key): the polling fragment reruns the page when it moves.
    drawn: Slot[tuple | None] = Slot("live_drawn")
    flash: Slot[str | None] = Slot("live_flash")


class SessionState:
    """One typed view of the browser session's state; holds nothing itself (a plain class: a
    dataclass would write its descriptor fields' defaults into the session when built)."""

    quiz: QuizKeys = QuizKeys()
    browse: BrowseKeys = BrowseKeys()
    compare: CompareKeys = CompareKeys()
    home: HomeKeys = HomeKeys()
    classroom: ClassroomKeys = ClassroomKeys()
    report: ReportKeys = ReportKeys()
    live: LiveKeys = LiveKeys()
    # A folder the user activated on Home (every page reads it to find the active dataset).
    dataset_override: Slot[str | None] = Slot("nnus_dataset_override")

    @staticmethod
    def viewer(prefix: str) -> ViewerKeys:
        return ViewerKeys(prefix)


state = SessionState()
