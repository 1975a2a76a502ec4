"""Server-side SVG charts: valid XML, escaped text, sensible geometry."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from guanxi.sales import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(str(svg))
    assert root.tag == f"{SVG}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_bar_chart_is_valid_svg_with_one_bar_per_item_scaled_to_the_largest():
    root = parse(charts.bar_chart([("华东区", 300), ("西南区", 150)], title="Won"))
    rects = root.findall(f".//{SVG}rect")
    assert len(rects) == 2
    widths = [float(r.get("width")) for r in rects]
    assert widths[0] == 2 * widths[1] > 0
    assert "华东区" in texts(root) and "300" in texts(root)
    assert root.find(f"{SVG}title").text == "Won"


def test_hostile_labels_stay_text():
    evil = '<script>alert("x")</script>'
    for svg in (
        charts.bar_chart([(evil, 1)], title=evil),
        charts.funnel_chart([(evil, 5), ("b", 2)], title=evil),
        charts.stacked_bar_chart([evil], [charts.Series(evil, [3])], title=evil),
        charts.line_chart([evil, "w2"], [charts.Series(evil, [1, 2])], title=evil),
    ):
        assert "<script>" not in svg
        assert "&lt;script&gt;" in svg
        root = parse(svg)
        assert not list(root.iter("script")) and not list(root.iter(f"{SVG}script"))
        titles = [t.text or "" for t in root.iter(f"{SVG}title")]
        assert any(evil in t for t in titles)  # the parsed text is the label itself
        assert any(t.startswith("<script>") for t in texts(root))  # shortened, still text


def test_stacked_bars_stack_series_per_category():
    root = parse(charts.stacked_bar_chart(
        ["W1", "W2"], [charts.Series("reached", [2, 0]), charts.Series("no answer", [2, 1])]))
    bars = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len(bars) == 3  # zero values draw nothing
    heights = [float(r.get("height")) for r in bars]
    # W1 = 4 (the tallest column: 2 + 2), W2 = 1
    assert abs(heights[0] - heights[1]) < 0.01 and abs(heights[0] / heights[2] - 2) < 0.01
    assert "reached" in texts(root) and "no answer" in texts(root)  # legend


def test_line_chart_draws_one_polyline_per_series():
    root = parse(charts.line_chart(["a", "b", "c"], [charts.Series("x", [1, 3, 2]),
                                                     charts.Series("y", [0, 0, 1])]))
    lines = root.findall(f".//{SVG}polyline")
    assert len(lines) == 2
    assert len(lines[0].get("points").split()) == 3


def test_funnel_bars_narrow_with_the_value_and_stay_centred():
    root = parse(charts.funnel_chart([("初步接洽", 100), ("需求确认", 50)]))
    rects = root.findall(f".//{SVG}rect")
    w = [float(r.get("width")) for r in rects]
    x = [float(r.get("x")) for r in rects]
    assert w[0] == 2 * w[1]
    assert abs((x[0] + w[0] / 2) - (x[1] + w[1] / 2)) < 0.1


def test_empty_charts_say_so():
    for svg in (charts.bar_chart([], empty="Nothing"), charts.funnel_chart([("a", 0)],
                                                                            empty="Nothing"),
                charts.stacked_bar_chart(["w"], [charts.Series("s", [0])], empty="Nothing")):
        assert "Nothing" in texts(parse(svg))


def test_number_formats():
    assert charts.fmt_number(1234567.8) == "1,234,568"
    assert charts.fmt_compact(2_500_000) == "2.5M"
    assert charts.fmt_compact(35_000) == "35k"
