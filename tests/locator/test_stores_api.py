"""``sdk.stores``: near() with hooks, index invalidation, import/export, sync and the CLI."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from o2o_sdk import O2O, FrozenClock, InvalidInput, OpeningHours, PluginError, Store, StoreMatch, StoreQuery, hookimpl
from o2o_sdk.cli import main

WEEKDAYS = OpeningHours.parse({"weekly": {"mon-fri": ["09:00-18:00"]}})
LATE = OpeningHours.parse({"weekly": {"mon-sun": ["10:00-22:00"]}})

# Around Berlin Alexanderplatz (52.5219, 13.4132); the clock says Monday 2026-06-15 12:00 UTC (14:00 local).
BERLIN = [
    Store("b1", "Alex", "Europe/Berlin", 52.5219, 13.4132, services=("pickup",), hours=WEEKDAYS),
    Store("b2", "Mitte", "Europe/Berlin", 52.5250, 13.4050, services=("pickup", "returns"), hours=LATE),
    Store("b3", "Kreuzberg", "Europe/Berlin", 52.4990, 13.4030, services=("returns",)),
    Store("b4", "Pankow", "Europe/Berlin", 52.5690, 13.4020, services=("pickup", "fitting-room"), hours=LATE),
]


@pytest.fixture
def shop(make_sdk: Callable[..., O2O]) -> O2O:
    sdk = make_sdk()
    sdk.stores.add(BERLIN)
    return sdk


def ids(matches: list[StoreMatch]) -> list[str]:
    return [m.store.id for m in matches]


def test_near_returns_typed_results_with_distance_status_and_next_change(shop: O2O) -> None:
    matches = shop.stores.near(52.5219, 13.4132, k=3)
    assert ids(matches) == ["b1", "b2", "b3"]
    first = matches[0]
    assert isinstance(first, StoreMatch) and first.distance_m == 0.0
    assert first.is_open is True
    assert first.next_change == datetime(2026, 6, 15, 18, 0, tzinfo=first.next_change.tzinfo)  # type: ignore[union-attr]
    assert first.next_change.utcoffset() == timedelta(hours=2)  # type: ignore[union-attr]
    assert matches[2].is_open is None  # Kreuzberg: hours unknown, still listed
    assert matches[1].to_dict()["distance_m"] == pytest.approx(matches[1].distance_m, abs=1e-3)


def test_open_now_open_at_and_open_for(shop: O2O, clock: FrozenClock) -> None:
    assert ids(shop.stores.near(52.5219, 13.4132, open_now=True)) == ["b1", "b2", "b4"]
    # Arriving at 19:00 local: only the late stores are open.
    arrival = datetime(2026, 6, 15, 19, 0)
    assert ids(shop.stores.near(52.5219, 13.4132, open_at=arrival)) == ["b2", "b4"]
    # At 17:30 local, 45 minutes before Alex closes … and Alex closes at 18:00.
    clock.set(datetime(2026, 6, 15, 15, 30, tzinfo=UTC))
    assert ids(shop.stores.near(52.5219, 13.4132, open_for=45)) == ["b2", "b4"]
    assert ids(shop.stores.near(52.5219, 13.4132, open_for=timedelta(minutes=30))) == ["b1", "b2", "b4"]
    with pytest.raises(InvalidInput, match="not both"):
        shop.stores.near(0, 0, open_now=True, open_at=arrival)


def test_services_filter_reports_matched_services(shop: O2O) -> None:
    matches = shop.stores.near(52.5219, 13.4132, services=["pickup", "returns"])
    assert ids(matches) == ["b2"] and matches[0].services == ("pickup", "returns")
    assert ids(shop.stores.near(52.5219, 13.4132, services="fitting-room")) == ["b4"]


class Inventory:
    """An adapter: stock per store; records each batch it is asked about."""

    def __init__(self, levels: dict[str, dict[str, int]]) -> None:
        self.levels = levels
        self.calls: list[tuple[list[str], list[str]]] = []

    @hookimpl
    def o2o_check_inventory(self, stores: list[Store], skus: list[str]) -> dict[str, dict[str, int]]:
        self.calls.append(([s.id for s in stores], skus))
        return {s.id: self.levels[s.id] for s in stores if s.id in self.levels}


def test_hook_o2o_check_inventory(shop: O2O) -> None:
    inventory = Inventory({"b1": {"SKU-1": 0, "SKU-2": 5}, "b2": {"SKU-1": 3}, "b4": {"SKU-1": 9, "SKU-2": 1}})
    with shop.plugins.registered(inventory):
        matches = shop.stores.near(52.5219, 13.4132, k=2, skus=["SKU-1", "SKU-2"])
        assert ids(matches) == ["b4"]
        assert matches[0].stock == {"SKU-1": 9, "SKU-2": 1}
        assert len(inventory.calls) == 1 and sorted(inventory.calls[0][0]) == ["b1", "b2", "b3", "b4"]
        assert ids(shop.stores.near(52.5219, 13.4132, k=2, skus="SKU-1", min_quantity=5)) == ["b4"]
        assert ids(shop.stores.near(52.5219, 13.4132, k=2, skus="SKU-1")) == ["b2", "b4"]
    with pytest.raises(InvalidInput, match="inventory plugin"):
        shop.stores.near(52.5219, 13.4132, skus="SKU-1")


def test_first_inventory_answer_wins_per_store_and_sku(shop: O2O) -> None:
    with shop.plugins.registered(Inventory({"b1": {"X": 0}}), "pos"), shop.plugins.registered(Inventory({"b1": {"X": 4}}), "platform_b"):
        # pluggy calls the plugin registered last first.
        assert ids(shop.stores.near(52.5219, 13.4132, k=1, skus="X")) == ["b1"]


def test_hook_o2o_exclude_stores(shop: O2O) -> None:
    batches: list[list[str]] = []

    class Closed:
        @hookimpl
        def o2o_exclude_stores(self, stores: list[Store]) -> set[str]:
            batches.append([s.id for s in stores])
            return {"b1", "b2"}

    class NoOpinion:
        @hookimpl
        def o2o_exclude_stores(self) -> None:
            return None

    with shop.plugins.registered(Closed()), shop.plugins.registered(NoOpinion()):
        assert ids(shop.stores.near(52.5219, 13.4132, k=1)) == ["b3"]
    assert batches == [["b1", "b2", "b3", "b4"]]  # one batch, nearest first


def test_hook_o2o_rerank_stores(shop: O2O) -> None:
    seen: list[StoreQuery] = []

    class NoPankow:
        @hookimpl
        def o2o_exclude_stores(self, query: StoreQuery, stores: list[Store]) -> list[str]:
            seen.append(query)
            return ["b4"]

    class ByTravelTime:
        @hookimpl
        def o2o_rerank_stores(self, matches: list[StoreMatch]) -> list[StoreMatch]:
            for n, m in enumerate(matches):
                m.extra["travel_time_s"] = 600 - n
            return list(reversed(matches))

    with shop.plugins.registered(NoPankow()):
        assert ids(shop.stores.near(52.5219, 13.4132)) == ["b1", "b2", "b3"]
        assert seen[0].latitude == 52.5219 and seen[0].k == 10
        with shop.plugins.registered(ByTravelTime()):
            matches = shop.stores.near(52.5219, 13.4132, k=2)
            # The plugin saw up to 2k candidates in geodesic order and reversed them.
            assert ids(matches) == ["b3", "b2"]
            assert matches[0].extra == {"travel_time_s": 598}

    class Broken:
        @hookimpl
        def o2o_rerank_stores(self, matches: list[StoreMatch]) -> list[StoreMatch]:
            return matches + matches

    with shop.plugins.registered(Broken()), pytest.raises(PluginError):
        shop.stores.near(52.5219, 13.4132)


def test_index_is_rebuilt_when_stores_change_through_the_sdk(shop: O2O) -> None:
    assert ids(shop.stores.near(52.5, 13.4, k=1)) == ["b3"]
    shop.stores.add(Store("b5", "Right here", "Europe/Berlin", 52.5, 13.4))
    assert ids(shop.stores.near(52.5, 13.4, k=1)) == ["b5"]
    shop.stores.remove("b5")
    assert ids(shop.stores.near(52.5, 13.4, k=1)) == ["b3"]
    assert shop.stores.rebuild_index("grid").kind == "grid"
    assert ids(shop.stores.near(52.5, 13.4, k=1)) == ["b3"]


def test_within_radius_and_bbox(shop: O2O) -> None:
    assert ids(shop.stores.within_radius(52.5219, 13.4132, 1_000)) == ["b1", "b2"]
    # Ordered by distance from the box's centre (52.51, 13.41).
    assert ids(shop.stores.within_bbox((52.49, 13.40, 52.53, 13.42))) == ["b3", "b1", "b2"]


def test_hours_round_trip_through_storage(shop: O2O) -> None:
    hours = OpeningHours.parse({
        "weekly": {"fri": ["18:00-02:00"], "sat": ["00:00-24:00"]},
        "special": {"2026-12-25": []},
        "closures": [{"from": "2026-08-01", "to": "2026-08-02", "reason": "stock-take"}],
    })
    shop.stores.add(Store("h", "Hours", "Europe/Berlin", 52.0, 13.0, hours=hours))
    assert shop.stores.get("h").hours == hours


def test_hook_o2o_register_stores(shop: O2O) -> None:
    class Adapter:
        @hookimpl
        def o2o_register_stores(self, register: Callable[[Store], None]) -> None:
            register(Store("pos-1", "POS one", "Europe/Paris", 48.85, 2.35, external_ids={"pos": "1"}))
            register(Store("pos-bad", "Bad", "Nowhere/Land", 48.85, 2.35))

    with shop.plugins.registered(Adapter()):
        report = shop.stores.sync()
    assert report.upserted == 1 and [r.store_id for r in report.rejected] == ["pos-bad"]
    assert shop.stores.get("pos-1").external_ids == {"pos": "1"}
    assert ids(shop.stores.near(48.85, 2.35, k=1)) == ["pos-1"]


CSV = """id,name,latitude,longitude,timezone,address,services,hours,checkin_radius_m,external_ids,floor
c1,One,52.52,13.40,Europe/Berlin,Somewhere 1,pickup;returns,"{""weekly"":{""mon-fri"":[""09:00-18:00""]}}",50,shopify:123,2
c2,Two,91,13.40,Europe/Berlin,,,,,,
c3,Three,52.50,13.41,Mars/Base,,,,,,
c4,Four,52.51,13.42,Europe/Berlin,,,"{""weekly"":{""mon"":[""9-5""]}}",,,
c5,Five,52.53,13.43,Europe/Berlin,,pickup,,,,
c1,Again,52.53,13.43,Europe/Berlin,,,,,,
"""


def test_csv_import_keeps_good_rows_and_reports_bad_ones_by_line(shop: O2O, tmp_path: Path) -> None:
    path = tmp_path / "stores.csv"
    path.write_text(CSV)
    progress: list[tuple[int, int]] = []
    report = shop.stores.import_file(path, progress=lambda done, total: progress.append((done, total)))
    assert report.imported == 2
    assert [(e.line, e.store_id) for e in report.errors] == [(3, "c2"), (4, "c3"), (5, "c4"), (7, "c1")]
    assert "latitude 91" in report.errors[0].message and "IANA" in report.errors[1].message
    assert "HH:MM" in report.errors[2].message and "duplicate" in report.errors[3].message
    c1 = shop.stores.get("c1")
    assert c1.services == ("pickup", "returns") and c1.external_ids == {"shopify": "123"}
    assert c1.attributes == {"floor": "2"} and c1.checkin_radius_m == 50.0 and c1.hours is not None
    assert progress[-1] == (6, 6)


def test_geojson_and_csv_export_round_trip(shop: O2O, make_sdk: Callable[..., O2O], tmp_path: Path) -> None:
    shop.stores.add(Store("x", "Ext", "Pacific/Fiji", -16.85, -179.945, "Road 1", ("pickup",), OpeningHours.always_open(),
                          25.0, {"square": "L1"}, {"floor": 2}))  # fmt: skip
    for fmt in ("geojson", "csv"):
        out = io.StringIO()
        assert shop.stores.export(out, fmt) == 5
        target = make_sdk(database_url=f"sqlite:///{tmp_path / (fmt + '.db')}")
        report = target.stores.import_stream(io.StringIO(out.getvalue()), fmt)
        assert report.ok and report.imported == 5
        if fmt == "geojson":
            assert target.stores.list() == shop.stores.list()
        else:  # CSV keeps attribute values as JSON
            assert target.stores.get("x") == shop.stores.get("x")
    data = json.loads(_export(shop))
    assert data["type"] == "FeatureCollection" and data["features"][0]["geometry"]["type"] == "Point"


def _export(sdk: O2O) -> str:
    out = io.StringIO()
    sdk.stores.export(out)
    return out.getvalue()


def test_geojson_rejects_bad_features_by_number(shop: O2O) -> None:
    text = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [13.4, 52.5]},
         "properties": {"id": "g1", "name": "G", "timezone": "Europe/Berlin", "hours": {"weekly": {"sun": ["22:00-02:00"]}}}},
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": []}, "properties": {"id": "g2"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [13.4, 52.5]}, "properties": {"name": "no id"}},
    ]})  # fmt: skip
    report = shop.stores.import_stream(io.StringIO(text), "geojson")
    assert report.imported == 1 and [e.line for e in report.errors] == [2, 3]
    with pytest.raises(InvalidInput, match="not valid JSON"):
        shop.stores.import_stream(io.StringIO("{nope"), "geojson")


def run(database_url: str, *argv: str) -> int:
    return main(["--database", database_url, *argv])


def test_cli_import_near_show_hours_export(database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("O2O_SECRET_KEYS", "a:0123456789abcdef0123456789abcdef")
    path = tmp_path / "stores.csv"
    path.write_text(CSV)
    assert run(database_url, "db", "upgrade") == 0  # PostgreSQL is never migrated implicitly
    capsys.readouterr()
    assert run(database_url, "stores", "import", str(path)) == 1  # some rows were rejected
    out, err = capsys.readouterr()
    assert "imported 2 store(s); 4 row(s) rejected" in out
    assert "stores.csv:3: Store c2: latitude 91" in err
    assert run(database_url, "stores", "near", "52.52", "13.40", "--k", "1", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["id"] == "c1" and rows[0]["distance_m"] == 0.0 and rows[0]["services"] == []
    assert run(database_url, "stores", "near", "52.52", "13.40", "--service", "pickup", "--open-at", "2026-06-20T12:00") == 0
    assert capsys.readouterr().out.strip() == "no store matches"  # a Saturday: c1 is closed, c5 has no hours
    assert run(database_url, "stores", "near", "52.52", "13.40", "--service", "pickup") == 0
    assert "c1  One" in capsys.readouterr().out
    assert run(database_url, "stores", "hours", "c1", "--at", "2026-06-19T17:00") == 0
    out = capsys.readouterr().out
    assert "fri  09:00-18:00" in out and "open, closes Fri 2026-06-19 18:00 CEST" in out
    assert run(database_url, "stores", "show", "c1") == 0
    assert "Somewhere 1" in capsys.readouterr().out
    assert run(database_url, "stores", "export", "--format", "csv") == 0
    assert capsys.readouterr().out.startswith("id,name,latitude,longitude,timezone")
    for argv in (["near", "91", "0"], ["show", "nope"], ["near", "0", "0", "--sku", "X"], ["near", "0", "0", "--open-at", "soon"],
                 ["import", str(tmp_path / "missing.csv")], ["near", "0", "0", "--bbox", "1,2"]):  # fmt: skip
        assert run(database_url, "stores", *argv) == 1
        _, err = capsys.readouterr()
        assert err.startswith("o2o: error: ") and err.count("\n") == 1 and "Traceback" not in err
