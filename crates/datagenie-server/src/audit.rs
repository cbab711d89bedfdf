//! Audit rows for what the API changes: who (the caller or, for a login, the account), from where (address, user
//! agent, request id), what (action, resource, old and new values with secrets redacted) and whether it succeeded.

use datagenie_app::redact::redact_json;
use datagenie_core::Error;
use datagenie_store::model::NewAuditEntry;

use crate::auth::{Auth, ClientInfo};
use crate::state::AppState;

/// An audit row being built.
#[derive(Debug, Clone)]
pub struct Audit(NewAuditEntry);

impl Audit {
    pub fn new(action: &str, resource_type: &str) -> Audit {
        Audit(NewAuditEntry {
            user_id: None,
            action: action.into(),
            resource_type: resource_type.into(),
            resource_id: None,
            old_values: None,
            new_values: None,
            ip_address: None,
            user_agent: None,
            request_id: None,
            success: true,
            reason: None,
        })
    }

    pub fn actor(mut self, user_id: &str) -> Audit {
        self.0.user_id = Some(user_id.into());
        self
    }

    pub fn resource(mut self, id: &str) -> Audit {
        self.0.resource_id = Some(id.into());
        self
    }

    pub fn client(mut self, client: &ClientInfo) -> Audit {
        self.0.ip_address = client.ip.clone();
        self.0.user_agent = client.user_agent.clone();
        self.0.request_id = client.request_id.clone();
        self
    }

    /// The authenticated caller as the actor, and where they called from.
    pub fn caller(mut self, auth: &Auth) -> Audit {
        let c = &auth.caller;
        self.0.user_id = Some(c.user.id.clone());
        self.0.ip_address = c.ip_address.clone();
        self.0.user_agent = c.user_agent.clone();
        self.0.request_id = c.request_id.clone();
        self
    }

    /// Old and new values; anything that looks like a secret is redacted.
    pub fn values(mut self, old: Option<serde_json::Value>, new: Option<serde_json::Value>) -> Audit {
        self.0.old_values = old.map(|v| redact_json(&v));
        self.0.new_values = new.map(|v| redact_json(&v));
        self
    }

    pub fn failed(mut self, reason: &str) -> Audit {
        self.0.success = false;
        self.0.reason = Some(reason.into());
        self
    }
}

/// Appends the row to the hash-chained log.
pub async fn audit(state: &AppState, entry: Audit) -> Result<(), Error> {
    state.store.append_audit(entry.0).await.map(|_| ())
}
