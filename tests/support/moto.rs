//! A local AWS emulator for the tests: moto's server on a free loopback
//! port, started per test and stopped when dropped, and SDK clients on it.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where `scripts/setup.sh` installs moto's server (or `$TALLY_MOTO_SERVER`).
pub fn moto_server_path() -> PathBuf {
    if let Some(p) = std::env::var_os("TALLY_MOTO_SERVER") {
        return PathBuf::from(p);
    }
    crate::support::tool("moto/bin/moto_server")
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running moto server.
pub struct Moto {
    child: Option<Child>,
    pub port: u16,
}

impl Moto {
    pub fn start() -> Moto {
        let path = moto_server_path();
        assert!(path.exists(), "{} is missing: run scripts/setup.sh (it installs moto[server])", path.display());
        let port = free_port();
        let child = Command::new(&path)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let moto = Moto { child: Some(child), port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return moto;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto_server did not start on port {port}");
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the emulator now.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Environment for the `tally` process and the test's own clients.
pub fn aws_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_string()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}

/// SDK clients on the emulator.
pub struct Aws {
    pub ddb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub athena: aws_sdk_athena::Client,
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
}

impl Aws {
    pub async fn new(endpoint: &str) -> Aws {
        let creds = aws_sdk_dynamodb::config::Credentials::new("testing", "testing", None, None, "tests");
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(creds)
            .load()
            .await;
        let s3 =
            aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
        Aws {
            ddb: aws_sdk_dynamodb::Client::new(&config),
            s3,
            athena: aws_sdk_athena::Client::new(&config),
            cognito: aws_sdk_cognitoidentityprovider::Client::new(&config),
        }
    }

    pub async fn create_table(&self, name: &str) {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        self.ddb
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("PK")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("SK")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(KeySchemaElement::builder().attribute_name("PK").key_type(KeyType::Hash).build().unwrap())
            .key_schema(KeySchemaElement::builder().attribute_name("SK").key_type(KeyType::Range).build().unwrap())
            .send()
            .await
            .unwrap();
    }

    /// Loads the items of a JSON Lines dump with BatchWriteItem.
    pub async fn load_table(&self, name: &str, jsonl: &[u8]) -> usize {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        let items: Vec<_> = tally_core::item::JsonLines::new(jsonl).map(|i| i.unwrap()).collect();
        for chunk in items.chunks(25) {
            let mut requests = Vec::new();
            for item in chunk {
                let map = item.attrs.iter().map(|(k, v)| (k.clone(), to_sdk(v))).collect();
                requests.push(
                    WriteRequest::builder()
                        .put_request(PutRequest::builder().set_item(Some(map)).build().unwrap())
                        .build(),
                );
            }
            let mut pending = Some(requests);
            while let Some(reqs) = pending.take() {
                let out = self.ddb.batch_write_item().request_items(name, reqs).send().await.unwrap();
                let left = out.unprocessed_items().and_then(|m| m.get(name)).cloned().unwrap_or_default();
                if !left.is_empty() {
                    pending = Some(left);
                }
            }
        }
        items.len()
    }

    /// A table created and filled with a JSON Lines dump; the item count.
    pub async fn table_from(&self, name: &str, jsonl: &std::path::Path) -> usize {
        self.create_table(name).await;
        self.load_table(name, &crate::support::read(jsonl)).await
    }

    /// The two tables of the fixtures (old and new), a reports bucket and a
    /// workgroup, as the seed's stack has them.
    pub async fn seed_stack(&self, old: &str, new: &str, bucket: &str, workgroup: &str) {
        use crate::support::fixture;
        assert_eq!(self.table_from(old, &fixture("old_table.jsonl")).await, 600);
        assert_eq!(self.table_from(new, &fixture("new_table.jsonl")).await, 600);
        self.create_bucket(bucket).await;
        self.create_workgroup(workgroup).await;
    }

    pub async fn create_workgroup(&self, name: &str) {
        self.athena.create_work_group().name(name).send().await.unwrap();
    }

    /// A Cognito user pool; its id.
    pub async fn create_user_pool(&self, name: &str) -> String {
        let pool = self.cognito.create_user_pool().pool_name(name).send().await.unwrap();
        pool.user_pool().and_then(|p| p.id()).unwrap().to_string()
    }

    /// A user with these attributes (`name`, `email`, ...); its `sub`.
    pub async fn create_user(&self, pool: &str, username: &str, attributes: &[(&str, &str)]) -> String {
        use aws_sdk_cognitoidentityprovider::types::AttributeType;
        let mut create = self.cognito.admin_create_user().user_pool_id(pool).username(username);
        for (k, v) in attributes {
            create = create.user_attributes(AttributeType::builder().name(*k).value(*v).build().unwrap());
        }
        let user = create.send().await.unwrap();
        let attrs = user.user().map(|u| u.attributes()).unwrap_or_default();
        attrs.iter().find(|a| a.name() == "sub").and_then(|a| a.value()).unwrap().to_string()
    }

    pub async fn create_bucket(&self, name: &str) {
        self.s3.create_bucket().bucket(name).send().await.unwrap();
    }

    pub async fn put(&self, bucket: &str, key: &str, bytes: Vec<u8>) {
        self.s3.put_object().bucket(bucket).key(key).body(bytes.into()).send().await.unwrap();
    }

    pub async fn get(&self, bucket: &str, key: &str) -> Vec<u8> {
        let out = self.s3.get_object().bucket(bucket).key(key).send().await.unwrap();
        out.body.collect().await.unwrap().into_bytes().to_vec()
    }

    /// The object, or `None` when there is none.
    pub async fn get_optional(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let out = self.s3.get_object().bucket(bucket).key(key).send().await.ok()?;
        Some(out.body.collect().await.unwrap().into_bytes().to_vec())
    }

    pub async fn delete(&self, bucket: &str, key: &str) {
        self.s3.delete_object().bucket(bucket).key(key).send().await.unwrap();
    }

    /// The object's server-side encryption (`AES256`, `aws:kms`), if any.
    pub async fn encryption(&self, bucket: &str, key: &str) -> Option<String> {
        let out = self.s3.head_object().bucket(bucket).key(key).send().await.unwrap();
        out.server_side_encryption().map(|e| e.as_str().to_string())
    }

    /// Multipart uploads started and neither completed nor aborted.
    pub async fn open_uploads(&self, bucket: &str) -> usize {
        let out = self.s3.list_multipart_uploads().bucket(bucket).send().await.unwrap();
        out.uploads().len()
    }

    pub async fn content_type(&self, bucket: &str, key: &str) -> Option<String> {
        let out = self.s3.head_object().bucket(bucket).key(key).send().await.unwrap();
        out.content_type().map(String::from)
    }
}

fn to_sdk(v: &tally_core::Attr) -> aws_sdk_dynamodb::types::AttributeValue {
    use aws_sdk_dynamodb::types::AttributeValue as V;
    use tally_core::Attr;
    let blob = |s: &String| aws_smithy_types::Blob::new(aws_smithy_types::base64::decode(s).unwrap_or_default());
    match v {
        Attr::S(s) => V::S(s.clone()),
        Attr::N(n) => V::N(n.clone()),
        Attr::B(b) => V::B(blob(b)),
        Attr::Bool(b) => V::Bool(*b),
        Attr::Null => V::Null(true),
        Attr::M(m) => V::M(m.iter().map(|(k, v)| (k.clone(), to_sdk(v))).collect()),
        Attr::L(l) => V::L(l.iter().map(to_sdk).collect()),
        Attr::SS(s) => V::Ss(s.clone()),
        Attr::NS(s) => V::Ns(s.clone()),
        Attr::BS(s) => V::Bs(s.iter().map(blob).collect()),
    }
}
