"""Alerts: the rules, what they fire on the latest scores, and every alert sent or tried."""

import pandas as pd
import streamlit as st

from ui import look, week, widgets

widgets.page_header("Alerts")
rules, problem = week.alert_rules()
st.caption(
    "The refresh checks these rules after rescoring, and `python -m risk alerts` does it on "
    "demand; each (rule, theatre, week) is sent once by e-mail or webhook, and a failed send is "
    f"retried on the next run. Rules file: {week.alerts_path()}."
)
if problem:
    st.error(f"The alert rules cannot be read: {problem}", icon=":material/error:")
elif not rules:
    st.info("No alert rules yet: add an [[alert]] table to the rules file.", icon=":material/info:")
else:
    st.subheader("Rules")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "rule": r.name,
                    "theatres": ", ".join(r.theatres) or "every theatre",
                    "fires on": r.conditions(),
                    "e-mail": ", ".join(r.email) or "–",
                    "webhook": r.webhook_env or "–",
                }
                for r in rules
            ]
        ),
        hide_index=True,
    )
    st.subheader("Firing on the latest scores")
    firing = week.firing_now(rules)
    if firing:
        st.dataframe(
            pd.DataFrame([f.as_json() for f in firing]).assign(
                probability=lambda f: f["probability"] * 100,
                change=lambda f: f["change"] * 100,
            ),
            hide_index=True,
            column_config={
                "rule": "Rule",
                "theatre": "Theatre",
                "as_of": "Week of",
                "probability": st.column_config.NumberColumn("P(surge)", format="%.0f%%"),
                "band": "Band",
                "change": st.column_config.NumberColumn("Change", format="%+.1f pts"),
                "expected_incidents": look.count_column("Expected violent"),
                "interval": None,
                "why": st.column_config.TextColumn("Main driver", width="large"),
            },
        )
    else:
        st.info("No rule fires on the latest scores.", icon=":material/notifications_off:")

st.subheader("Sent and tried")
log = week.sent_alerts()
if log.empty:
    st.info("No alert has been sent yet.", icon=":material/info:")
else:
    st.dataframe(
        log.assign(probability=log["probability"] * 100),
        hide_index=True,
        column_config={
            "as_of": st.column_config.DateColumn("Week of", format="YYYY-MM-DD"),
            "rule": "Rule",
            "theatre": "Theatre",
            "channel": "Channel",
            "status": "Status",
            "attempts": look.count_column("Attempts"),
            "probability": st.column_config.NumberColumn("P(surge)", format="%.0f%%"),
            "band": "Band",
            "reason": st.column_config.TextColumn("Message", width="large"),
            "error": st.column_config.TextColumn("Last error", width="medium"),
            "last_tried_at": look.utc_column("Last tried (UTC)"),
            "sent_at": look.utc_column("Sent (UTC)"),
        },
    )
