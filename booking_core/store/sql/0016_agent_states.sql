-- guahao schema, version 16: agent states (坐席状态) and call wrap-up (话后处理) (#14).
-- agent_states: each agent's state now (an operator with no row is offline): available,
-- busy (on call_sid), wrap_up (after call_sid, until wrap_up_until: then available),
-- break (小休), offline; wrap_up_seconds: the wrap-up limit of the console the agent took
-- their call on (a call the caller ends starts the wrap-up without the console).
-- agent_state_changes: every change, timed, for the workload report.
-- calls: who answered a transferred call and when, and its wrap-up (disposition, 来电小结).

CREATE TABLE agent_states (
    operator_id {BIGINT} PRIMARY KEY REFERENCES operators (id),
    hospital_id {BIGINT} REFERENCES hospitals (id),
    state TEXT NOT NULL,
    since {BIGINT} NOT NULL,
    call_sid TEXT,
    wrap_up_until {BIGINT},
    wrap_up_seconds INTEGER
);
CREATE INDEX agent_states_call ON agent_states (call_sid);
CREATE INDEX agent_states_hospital ON agent_states (hospital_id, state);

CREATE TABLE agent_state_changes (
    id {ID},
    operator_id {BIGINT} NOT NULL REFERENCES operators (id),
    hospital_id {BIGINT} REFERENCES hospitals (id),
    state TEXT NOT NULL,
    at {BIGINT} NOT NULL,
    call_sid TEXT,
    wrap_up_until {BIGINT}
);
CREATE INDEX agent_state_changes_operator ON agent_state_changes (operator_id, at);
CREATE INDEX agent_state_changes_hospital ON agent_state_changes (hospital_id, at);

ALTER TABLE calls ADD COLUMN agent_id {BIGINT} REFERENCES operators (id);
ALTER TABLE calls ADD COLUMN answered_at {BIGINT};
ALTER TABLE calls ADD COLUMN disposition TEXT;
ALTER TABLE calls ADD COLUMN summary TEXT;
ALTER TABLE calls ADD COLUMN wrapped_at {BIGINT};
CREATE INDEX calls_agent_answered ON calls (agent_id, answered_at);
CREATE INDEX calls_hospital_wrapped ON calls (hospital_id, wrapped_at);
