"""Section headings in PDF passages keep their line break (full view) or a separator (snippet)."""

from __future__ import annotations

from search.passage import heading_lines, separate_headings
from webapp.highlight import reflow

SECTION = (
    "2. Energy Storage\n"
    "Energy storage grew faster than any other part of the system in 2025. Grid-scale battery\n"
    "capacity reached 1.8 GWh in the third quarter, up from 0.7 GWh at the end of 2024, as five\n"
    "new battery sites entered service.\n"
    "Operating Experience\n"
    "Operating experience has been positive, with one exception: a fire suppression system fault\n"
    "kept a smaller site offline for six weeks."
)


def test_a_heading_keeps_its_line_break_in_the_full_passage() -> None:
    shown = reflow(SECTION, paged=True)
    assert shown.startswith("2. Energy Storage\nEnergy storage grew faster")
    assert "2. Energy Storage Energy storage" not in shown
    # an unnumbered heading, clearly shorter than the lines around it, stands on its own line too
    assert "entered service.\nOperating Experience\nOperating experience has" in shown
    # the wrapped lines of a paragraph are still joined
    assert "Grid-scale battery capacity reached" in shown


def test_a_heading_is_set_off_in_the_snippet() -> None:
    assert separate_headings(SECTION).startswith("2. Energy Storage — Energy storage grew faster")
    assert "service. — Operating Experience — Operating experience" in separate_headings(SECTION)


def test_wrapped_lines_and_sentence_ends_are_no_headings() -> None:
    paragraph = [
        "The measured average round-trip efficiency of the battery fleet was 87%, compared",
        "with 76% for Carrow Falls. Batteries were also the main provider of fast frequency",
        "Response, reacting within one second.",
        "Short closing line.",
        "Next paragraph starts here and runs on to the right margin of the page as usual.",
    ]
    assert heading_lines(paragraph) == set()  # lower-case next line, a full-width line, a sentence end
    assert reflow("\n".join(paragraph[:2]), paged=True) == " ".join(paragraph[:2])
    assert heading_lines(["Results", "lower-case text goes on here"]) == set()
    assert heading_lines(["1.2. What is this spec?", "Many programs use the MIME system."]) == {0}


def test_text_files_are_not_touched() -> None:
    assert reflow(SECTION, paged=False) == SECTION
