//! The users report's names and emails: bedrock-chat's users live in a
//! Cognito user pool, which `ListUsers` reads page by page (60 users each).

use std::collections::HashMap;

use anyhow::{Context, Result};
use aws_sdk_cognitoidentityprovider::types::UserType;

/// The most users `ListUsers` returns per page.
const PAGE: i32 = 60;

/// Every user of the pool: (name, email) by user id. bedrock-chat keys
/// conversations by the user's `sub`; the username is a key too, for pools
/// whose usernames are the ids.
pub async fn directory(
    client: &aws_sdk_cognitoidentityprovider::Client,
    pool: &str,
) -> Result<HashMap<String, (String, String)>> {
    let mut users = HashMap::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_users()
            .user_pool_id(pool)
            .limit(PAGE)
            .set_pagination_token(token.take())
            .send()
            .await
            .map_err(|e| anyhow::anyhow!(crate::aws::describe(&e)))
            .with_context(|| format!("listing the users of user pool {pool}"))?;
        for user in page.users() {
            let entry = name_and_email(user);
            if let Some(sub) = attribute(user, "sub") {
                users.insert(sub.to_string(), entry.clone());
            }
            if let Some(name) = user.username() {
                users.entry(name.to_string()).or_insert(entry);
            }
        }
        match page.pagination_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => break,
        }
    }
    Ok(users)
}

fn attribute<'u>(user: &'u UserType, name: &str) -> Option<&'u str> {
    user.attributes().iter().find(|a| a.name() == name).and_then(|a| a.value()).filter(|v| !v.is_empty())
}

/// `name`, else `given_name family_name`; and `email`.
fn name_and_email(user: &UserType) -> (String, String) {
    let name = attribute(user, "name").map(str::to_string).unwrap_or_else(|| {
        let parts: Vec<&str> = ["given_name", "family_name"].iter().filter_map(|n| attribute(user, n)).collect();
        parts.join(" ")
    });
    (name, attribute(user, "email").unwrap_or_default().to_string())
}
