//! `Connector::access_report` (`datagenie doctor`) on every engine: the least-privilege login of the fixture could
//! not write, the login that may write is reported with its evidence, the session is read-only for both, and the
//! time-limit probe is stopped at its limit. Run as the suite's `access_report` check.

use datagenie_core::ErrorCode;
use datagenie_core::connector::{TIME_LIMIT_PROBE, TIME_LIMIT_PROBE_PROMPT, WriteScope};

use crate::suite::{BoxedCheck, Engine, Fixture};

pub fn access_report<'a>(engine: &'a dyn Engine, fixture: &'a dyn Fixture) -> BoxedCheck<'a> {
    Box::pin(async move {
        let who = engine.name();
        let reader = fixture.connector();
        let r = reader.access_report().await.unwrap_or_else(|e| panic!("{who}: access report: {e:?}"));
        assert!(who.split('/').any(|name| r.engine == name), "{who}: engine {}", r.engine);
        assert!(r.server_version.starts_with(&r.engine), "{who}: version {}", r.server_version);
        assert!(r.read_only_session, "{who}: {}", r.read_only_evidence);
        assert!(r.time_limit_enforced, "{who}: {}", r.time_limit_evidence);
        let probe_ms = u64::try_from(TIME_LIMIT_PROBE.as_millis()).unwrap_or(u64::MAX);
        assert!(r.time_limit_probe_ms + 50 >= probe_ms, "{who}: stopped before the limit: {r:?}");
        assert!(u128::from(r.time_limit_probe_ms) <= TIME_LIMIT_PROBE_PROMPT.as_millis(), "{who}: stopped late: {r:?}");
        assert!(!r.write_evidence.is_empty(), "{who}: no evidence");
        let json = serde_json::to_string(&r).expect("serializes");
        assert!(!json.contains(crate::suite::SECRET_PASSWORD), "{who}: {json}");
        if engine.is_server() {
            assert_eq!(r.write_scope, WriteScope::Login, "{who}");
            assert!(r.login.as_deref().is_some_and(|l| !l.is_empty()), "{who}: {r:?}");
            assert_eq!(r.can_write, Some(false), "{who}: the read-only login: {:?}", r.write_evidence);
            assert!(r.is_safe() && r.warning().is_none(), "{who}: {r:?}");

            let writer = fixture.writable_login().await.unwrap_or_else(|e| panic!("{who}: writable login: {e}"));
            let w = writer.access_report().await.unwrap_or_else(|e| panic!("{who}: access report: {e:?}"));
            assert_ne!(w.login, r.login, "{who}: a different login");
            assert_eq!(w.can_write, Some(true), "{who}: the writing login: {:?}", w.write_evidence);
            let evidence = w.write_evidence.join("; ");
            assert!(evidence.contains("INSERT") || evidence.contains("ALL PRIVILEGES"), "{who}: {evidence}");
            assert!(w.read_only_session, "{who}: read-only even for a login that could write");
            assert!(w.time_limit_enforced, "{who}: {}", w.time_limit_evidence);
            assert_eq!(w.warning().map(|e| e.code), Some(ErrorCode::UnsafeLogin), "{who}");
        } else {
            assert_eq!((r.write_scope, r.login.as_deref()), (WriteScope::File, None), "{who}");
            assert!(r.can_write.is_some(), "{who}: {:?}", r.write_evidence);
            assert!(r.is_safe(), "{who}: a writable file is information only: {r:?}");
        }
        // The probe left the connector usable.
        reader.healthcheck().await.unwrap_or_else(|e| panic!("{who}: unusable after the probe: {e:?}"));
    })
}
