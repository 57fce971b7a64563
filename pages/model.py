"""Model: the target in words, the backtest against the baselines, calibration and drivers."""

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from ui import look, reads, serving, widgets

widgets.page_header("Model")
found = reads.metadata()
target = serving.target()

if found is None:
    st.subheader("What is forecast")
    st.markdown(target.describe())
    reason = reads.model_parts()["error"] or "no model has been trained yet"
    st.info(
        f"No model yet: {reason}. A model is trained after the first upload with enough "
        "history (a year of weekly data and at least 10 surge and 10 quiet theatre-weeks), or "
        "with `python -m risk train`.",
        icon=":material/info:",
    )
    st.stop()

tables = reads.backtest()
window = found.get("training_window") or ["?", "?"]
about, facts = st.columns([3, 2])
with about:
    st.subheader("What is forecast")
    st.markdown(target.describe())
backtest_found = found.get("backtest") or {}
in_use = found.get("in_use") or backtest_found.get("in_use") or found.get("estimator", "?")
with facts:
    st.subheader("The forecaster in use")
    st.dataframe(
        {
            "about": [
                "Forecaster",
                "Expected incidents",
                "Trained on weeks",
                "Theatre-weeks",
                "Version",
                "Trained (UTC)",
            ],
            "value": [
                look.FORECASTER_LABELS.get(in_use, in_use)
                + (" (a baseline: no model beat it)" if found.get("baseline") else ""),
                "the naive forecast (last 4 weeks carried on): the regression did not beat it"
                if found.get("count_source") == "naive"
                else "Poisson regression on recent levels",
                f"{window[0]} to {window[1]}",
                f"{found.get('training_rows', 0):,}, a surge followed "
                f"{found.get('training_positives', 0):,}",
                str(found.get("version")),
                str(found.get("created_at", ""))[:16].replace("T", " "),
            ],
        },
        hide_index=True,
        column_config={
            "about": "About",
            "value": st.column_config.TextColumn("Value", width="large"),
        },
    )
problem = reads.model_parts()["error"]
if problem:
    st.warning(f"The stored model cannot be used for new scores: {problem}.")

st.subheader("Backtest against the baselines")
folds = tables["folds"]
pooled = tables["pooled"]
if not folds.empty:
    st.caption(
        f"Rolling origin: {len(folds)} folds from {folds['cutoff'].iloc[0]} to "
        f"{folds['end'].iloc[-1]}; each trained only on weeks whose outcome was known before its "
        f"cut-off. {int(pooled['n'].iloc[0]):,} out-of-sample theatre-weeks. Selection is "
        "nested: in each fold the forecaster (a model or a baseline) is the one with the lowest "
        "Brier score on the earlier out-of-sample weeks whose outcome was known before that "
        "fold's cut-off, so the first row's figures include the cost of choosing. The "
        "models' probabilities are recalibrated the same way (Platt scaling fitted on their "
        "own earlier out-of-sample forecasts); the baselines are used as they are."
    )
margin = backtest_found.get("margin_over_levels") or {}
if margin.get("bss") is not None:
    st.caption(
        f"Margin over 'levels' (recent violent counts only): Brier skill "
        f"{margin['bss']:+.3f}, ROC AUC "
        + ("n/a" if margin.get("roc_auc") is None else f"{margin['roc_auc']:+.3f}")
        + ". Signals beyond levels were kept only where they improved this backtest on real "
        "data (README, 'The escalation model')."
    )
shown = pooled.assign(
    forecaster=pooled["forecaster"].map(lambda f: look.FORECASTER_LABELS.get(f, f))
)
metric_help = {
    "roc_auc": st.column_config.NumberColumn(
        "ROC AUC", format="%.3f", help="Ranks surges above quiet weeks: 0.5 is chance, 1 perfect"
    ),
    "average_precision": st.column_config.NumberColumn(
        "Average precision", format="%.3f", help="Precision over all thresholds; higher is better"
    ),
    "brier": st.column_config.NumberColumn(
        "Brier score", format="%.4f", help="Mean squared error of the probability; lower is better"
    ),
    "bss": st.column_config.NumberColumn(
        "Brier skill", format="%+.3f", help="Against climatology: above 0 beats it"
    ),
    "ece": st.column_config.NumberColumn(
        "Calibration error", format="%.3f", help="Expected calibration error; lower is better"
    ),
    "n": look.count_column("Theatre-weeks"),
}
st.dataframe(
    shown,
    hide_index=True,
    column_config={
        "forecaster": st.column_config.TextColumn("Forecaster", width="large"),
        **metric_help,
    },
)

st.markdown("**Per theatre**")
metric = st.segmented_control(
    "Measure",
    ["roc_auc", "bss", "brier", "average_precision"],
    default="roc_auc",
    format_func=lambda m: metric_help[m].get("label", m),
    key="model_metric",
    required=True,
)
per_theatre = tables["theatres"]
if per_theatre.empty:
    st.info("The backtest holds no per-theatre results.")
else:
    figure = go.Figure()
    names = list(dict.fromkeys(per_theatre["theatre"]))
    forecasters = ["model", "climatology", "persistence", "conflictology"]
    shades = {
        "model": None,
        "climatology": "#bdbdbd",
        "persistence": "#969696",
        "conflictology": "#636363",
    }
    for forecaster in forecasters:
        part = per_theatre[per_theatre["forecaster"] == forecaster].set_index("theatre")
        values = part[metric].reindex(names)
        figure.add_trace(
            go.Bar(
                x=names,
                y=values,
                name=look.FORECASTER_LABELS.get(forecaster, forecaster).split(":")[0],
                marker_color=(
                    [look.theatre_colour(n) for n in names]
                    if shades[forecaster] is None
                    else shades[forecaster]
                ),
                hovertemplate=f"%{{x}}, {forecaster}: %{{y:.3f}}<extra></extra>",
            )
        )
    if metric == "roc_auc":
        figure.add_hline(
            y=0.5,
            line_dash="dot",
            line_color="#555555",
            annotation_text="chance",
            annotation_position="top left",
        )
    figure.update_layout(
        barmode="group",
        height=320,
        margin={"t": 10, "b": 10, "l": 10, "r": 10},
        legend={"orientation": "h", "y": -0.2},
    )
    st.plotly_chart(figure, config=look.PLOTLY_CONFIG, key="model_theatres")
    thin = per_theatre.loc[per_theatre["too_few_positives"], "theatre"].unique().tolist()
    if thin:
        st.caption(
            "Too few surges in the test weeks to rate (fewer than 5 surge or 5 quiet weeks: no "
            "AUC or skill shown): " + ", ".join(thin) + "."
        )
    model_rows = per_theatre[per_theatre["forecaster"] == "model"]
    unskilled = model_rows[~model_rows["too_few_positives"] & (model_rows["bss"] <= 0)]
    if not unskilled.empty:
        st.caption(
            "No skill (Brier skill 0 or less against the theatre's own surge rate): "
            + ", ".join(unskilled["theatre"])
            + ". These theatres are marked on the Overview and their theatre pages."
        )
    wide = per_theatre[per_theatre["forecaster"] == "model"][
        ["theatre", "positives", "roc_auc", "average_precision", "brier", "bss", "ece", "n"]
    ]
    st.dataframe(
        wide,
        hide_index=True,
        column_config={
            "theatre": "Theatre",
            "positives": look.count_column("Weeks a surge followed"),
            **metric_help,
        },
    )

left, right = st.columns(2)
with left:
    st.subheader("Reliability")
    points = tables["reliability"]
    curve = go.Figure()
    curve.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            line={"dash": "dot", "color": "#888888"},
            name="perfectly calibrated",
            hoverinfo="skip",
        )
    )
    if not points.empty:
        curve.add_trace(
            go.Scatter(
                x=points["forecast"],
                y=points["observed"],
                mode="lines+markers",
                marker={
                    "size": 6 + 14 * np.sqrt(points["n"] / points["n"].max()),
                    "color": "#1f77b4",
                },
                name="model",
                customdata=points["n"],
                hovertemplate=(
                    "forecast %{x:.0%}: a surge followed %{y:.0%} of the time "
                    "(%{customdata:,} theatre-weeks)<extra></extra>"
                ),
            )
        )
    top = (
        float(
            max(
                0.3,
                points["forecast"].max() if not points.empty else 0,
                points["observed"].max() if not points.empty else 0,
            )
        )
        * 1.1
    )
    curve.update_xaxes(title_text="forecast probability", tickformat=".0%", range=[0, min(1, top)])
    curve.update_yaxes(title_text="observed frequency", tickformat=".0%", range=[0, min(1, top)])
    curve.update_layout(
        height=340,
        margin={"t": 10, "b": 10, "l": 10, "r": 10},
        legend={"orientation": "h", "y": -0.25},
    )
    st.plotly_chart(curve, config=look.PLOTLY_CONFIG, key="model_reliability")
with right:
    st.subheader("Expected incidents")
    counts = backtest_found.get("counts") or {}
    if counts:
        shown_by = "naive forecast" if counts.get("in_use") == "naive" else "regression"
        st.metric(
            f"Mean absolute error, violent incidents over {target.horizon} weeks ({shown_by})",
            f"{counts.get('mae', float('nan')):,.1f}",
            delta=f"naive (last 4 weeks carried on): {counts.get('naive_mae', float('nan')):,.1f}",
            delta_color="off",
            delta_arrow="off",
            border=True,
        )
        if counts.get("crps") is not None:
            st.metric(
                "CRPS (lower is better; how the VIEWS challenge scores forecasts)",
                f"{counts['crps']:,.2f}",
                delta=f"naive {counts.get('naive_crps', float('nan')):,.2f}, "
                f"zero {counts.get('zero_crps', float('nan')):,.2f}",
                delta_color="off",
                delta_arrow="off",
                border=True,
            )
        st.metric(
            "80% intervals holding the outcome",
            f"{counts.get('coverage', float('nan')):.0%}",
            delta="should be 75-85%; spread calibrated per theatre",
            delta_color="off",
            delta_arrow="off",
            border=True,
        )
        if counts.get("in_use") == "naive":
            st.caption(
                "The regression did not beat the naive forecast on both error and CRPS in the "
                "backtest, so the expected incidents shown are the naive forecast's."
            )

st.subheader("What drives the model")
features = reads.model_parts()["features"]
drivers = reads.drivers_now()
if not drivers.empty:
    grid = drivers.pivot(index="theatre", columns="feature", values="contribution")
    grid.columns = [look.feature_label(f) for f in grid.columns]
    order = [n for n in serving.theatres().names if n in grid.index]
    grid = grid.reindex(order)
    heat = go.Figure(
        go.Heatmap(
            x=list(grid.columns),
            y=list(grid.index),
            z=grid.to_numpy(dtype=float),
            zmid=0,
            colorscale="RdBu_r",
            colorbar={"title": {"text": "log-odds"}},
            hovertemplate="%{y}: %{x} moves the log-odds by %{z:+.2f}<extra></extra>",
            xgap=2,
            ygap=2,
        )
    )
    heat.update_yaxes(autorange="reversed")
    heat.update_layout(height=120 + 32 * len(order), margin={"t": 10, "b": 10, "l": 10, "r": 10})
    st.caption(
        "This week's scores: how far each feature moves a theatre's odds of a surge against its "
        "typical value (red raises, blue lowers; blank: not among the theatre's top drivers)."
    )
    st.plotly_chart(heat, config=look.PLOTLY_CONFIG, key="model_drivers")
if features is not None:
    st.dataframe(
        features.assign(feature=features["feature"].map(lambda f: look.feature_label(f))),
        hide_index=True,
        column_config={
            "feature": "Feature",
            "typical": st.column_config.TextColumn(
                "Typical value (training median; drivers compare with each theatre's own past "
                "year)",
                width="large",
            ),
        },
    )

st.subheader("Candidates compared")
candidates = tables["candidates"]
if not candidates.empty and "candidate" in candidates:
    st.caption(
        "Every candidate, the baselines included, scored on every out-of-sample week. "
        "'Folds chosen': how often the nested selection picked it. 'In use': the one with the "
        "lowest Brier score over all of them, fitted on all the data."
    )
    st.dataframe(
        candidates[
            ["candidate", "estimator", "feature_set", "brier", "bss", "roc_auc", "ece"]
            + [c for c in ("folds_chosen", "in_use") if c in candidates]
        ],
        hide_index=True,
        column_config={
            "candidate": "Candidate",
            "estimator": "Estimator",
            "feature_set": "Features",
            "brier": metric_help["brier"],
            "bss": metric_help["bss"],
            "roc_auc": metric_help["roc_auc"],
            "ece": metric_help["ece"],
            "folds_chosen": look.count_column("Folds chosen"),
            "in_use": st.column_config.CheckboxColumn("In use"),
        },
    )
