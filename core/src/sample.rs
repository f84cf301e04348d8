//! A deterministic sample of bedrock-chat tables, for the demo and the
//! benchmarks: conversations in the layout the fixtures describe (legacy
//! schema for the old table, tool rounds and reasoning for the current one),
//! with a few bot items, as Export-to-S3 JSON lines.

use serde_json::{json, Value};

/// Which table to imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleTable {
    /// The legacy table: text items, plain-string content, role `bot`, `used_chunks`.
    Legacy,
    /// The current table: tool rounds in `thinking_log`, tool items, reasoning, images.
    Current,
}

/// A small deterministic generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    fn pick<'a>(&mut self, xs: &'a [&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

const QUESTIONS: &[&str] = &[
    "Resume el acta de la reunión del martes en tres viñetas.",
    "¿Cuál es la política de reembolsos para viajes internacionales?",
    "Draft a polite reply to the vendor asking for a revised quote.",
    "Compara el contrato A con el B y dime qué cláusulas cambian.",
    "Explain the difference between the two pricing tiers in plain words.",
    "¿Qué documentos necesito para abrir una cuenta empresarial?",
    "Translate this paragraph into English and keep the legal tone.",
    "Calcula el IVA de una factura de 1.250 € y explica el resultado.",
];

const ANSWERS: &[&str] = &[
    "Claro. Estos son los puntos principales:\n- Presupuesto aprobado\n- Nuevas fechas de entrega\n- Responsables asignados",
    "Según la política vigente, los reembolsos se solicitan en un plazo de 30 días con los comprobantes originales.",
    "Here is a draft:\n\nDear team, thank you for the proposal. Could you send a revised quote that reflects the volume discount we discussed?",
    "Las diferencias están en las cláusulas 4 (plazos), 7 (penalizaciones) y 12 (jurisdicción). El resto es idéntico.",
    "The basic tier bills per conversation; the premium tier adds priority support and a monthly usage report.",
    "Necesitas la escritura de constitución, el NIF de la empresa y el documento de identidad del representante.",
    "The undersigned parties agree that this agreement shall be governed by the laws of the jurisdiction stated above.",
    "El IVA (21 %) de 1.250 € es 262,50 €, de modo que el total asciende a 1.512,50 €.",
];

const TITLES: &[&str] =
    &["Resumen de reunión", "Reembolsos", "Vendor email", "Comparar contratos", "Pricing tiers", "Cuenta empresa"];

fn ulid(rng: &mut Rng, ms: i64) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut s = String::with_capacity(26);
    let mut t = ms.max(0) as u64;
    let mut head = [0u8; 10];
    for slot in head.iter_mut().rev() {
        *slot = ALPHABET[(t % 32) as usize];
        t /= 32;
    }
    s.extend(head.iter().map(|&b| b as char));
    for _ in 0..16 {
        s.push(ALPHABET[rng.below(32) as usize] as char);
    }
    s
}

fn uuid(rng: &mut Rng) -> String {
    let (a, b) = (rng.next_u64(), rng.next_u64());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}

fn node(
    role: &str,
    content: Value,
    parent: Option<&str>,
    children: &[String],
    time: f64,
    extra: &[(&str, Value)],
) -> Value {
    let mut n = json!({
        "role": role,
        "content": content,
        "model": "claude-v3.5-sonnet",
        "children": children,
        "parent": parent,
        "create_time": time,
        "feedback": null,
        "used_chunks": null,
        "thinking_log": null,
    });
    for (k, v) in extra {
        n[*k] = v.clone();
    }
    n
}

fn text(body: &str) -> Value {
    json!({"content_type": "text", "body": body})
}

/// One conversation item.
fn conversation(rng: &mut Rng, table: SampleTable, user: &str, ms: i64) -> Value {
    let conv = ulid(rng, ms);
    let turns = 1 + rng.below(4) as usize;
    let mut ids: Vec<String> = (0..turns * 2).map(|_| ulid(rng, ms)).collect();
    ids.insert(0, "system".into());
    let mut map = serde_json::Map::new();
    let t0 = ms as f64 + 0.5;
    for (k, id) in ids.iter().enumerate() {
        let parent = if k == 0 { None } else { Some(ids[k - 1].as_str()) };
        let children: Vec<String> = ids.get(k + 1).cloned().into_iter().collect();
        let time = t0 + (k as f64) * 1234.567;
        let value = if k == 0 {
            node("system", json!([text("")]), None, &children, time, &[])
        } else if k % 2 == 1 {
            let q = rng.pick(QUESTIONS);
            let content = match table {
                SampleTable::Legacy if rng.below(5) == 0 => json!(q),
                _ if rng.below(12) == 0 => json!([
                    {"content_type": "image", "media_type": "image/png", "body": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="},
                    text(q)
                ]),
                _ => json!([text(q)]),
            };
            node("user", content, parent, &children, time, &[])
        } else {
            let a = rng.pick(ANSWERS);
            match table {
                SampleTable::Legacy => {
                    let role = if rng.below(3) == 0 { "bot" } else { "assistant" };
                    let mut extra = Vec::new();
                    if rng.below(3) == 0 {
                        extra.push((
                            "used_chunks",
                            json!([{"content": rng.pick(ANSWERS), "content_type": "s3", "source": "s3://kb/policies.pdf", "rank": 0}]),
                        ));
                    }
                    node(role, json!([text(a)]), parent, &children, time, &extra)
                }
                SampleTable::Current => {
                    let mut extra = Vec::new();
                    let mut content = vec![text(a)];
                    if rng.below(3) == 0 {
                        let tool = format!("tooluse_{}", &ulid(rng, ms)[10..]);
                        extra.push((
                            "thinking_log",
                            json!([
                                {"role": "assistant", "content": [
                                    text("Voy a buscar en la base de conocimiento."),
                                    {"content_type": "toolUse", "body": {"tool_use_id": tool, "name": "knowledge_base", "input": {"query": rng.pick(QUESTIONS), "top_k": 5, "threshold": 0.75}}}
                                ]},
                                {"role": "user", "content": [
                                    {"content_type": "toolResult", "body": {"tool_use_id": tool, "status": "success", "content": [
                                        {"json": {"source_id": format!("{tool}@0"), "content": [{"title": "Política", "snippet": rng.pick(ANSWERS), "score": 0.82}]}},
                                        {"text": rng.pick(ANSWERS)}
                                    ]}}
                                ]}
                            ]),
                        ));
                    }
                    if rng.below(6) == 0 {
                        content.insert(0, json!({"content_type": "reasoning", "text": "Primero reviso el documento y luego respondo.", "signature": "c2ln", "redacted_content": ""}));
                    }
                    node("assistant", Value::Array(content), parent, &children, time, &extra)
                }
            }
        };
        map.insert(id.clone(), value);
    }
    let map_text = Value::Object(map).to_string();
    // Python's json.dumps escapes non-ASCII; the Lambdas read either form.
    let micros = map_text.len() as u64 * 2;
    let price = format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000);
    json!({
        "PK": {"S": user},
        "SK": {"S": format!("{user}#CONV#{conv}")},
        "Title": {"S": rng.pick(TITLES)},
        "CreateTime": {"N": ms.to_string()},
        "LastUpdateTime": {"N": format!("{}.5", ms + 60_000)},
        "TotalPrice": {"N": price},
        "LastMessageId": {"S": ids.last().cloned().unwrap_or_default()},
        "ShouldContinue": {"BOOL": false},
        "IsLargeMessage": {"BOOL": false},
        "MessageMap": {"S": map_text},
    })
}

/// `count` export lines (`{"Item": {...}}`) of a sample table whose
/// `CreateTime`s fall between `from_ms` and `to_ms`; about one item in 25
/// is a bot definition rather than a conversation.
pub fn sample_lines(table: SampleTable, count: usize, from_ms: i64, to_ms: i64, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    let users: Vec<String> = (0..(count / 20).clamp(3, 500)).map(|_| uuid(&mut rng)).collect();
    let span = (to_ms - from_ms).max(1) as u64;
    (0..count)
        .map(|_| {
            let user = users[rng.below(users.len() as u64) as usize].clone();
            let ms = from_ms + rng.below(span) as i64;
            let item = if rng.below(25) == 0 {
                json!({
                    "PK": {"S": user},
                    "SK": {"S": format!("{user}#BOT#{}", ulid(&mut rng, ms))},
                    "Title": {"S": "Asistente de políticas"},
                    "CreateTime": {"N": ms.to_string()},
                    "Instruction": {"S": "Responde solo con la documentación interna."},
                })
            } else {
                conversation(&mut rng, table, &user, ms)
            };
            json!({ "Item": item }).to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::JsonLines;

    #[test]
    fn samples_are_deterministic_readable_items() {
        let a = sample_lines(SampleTable::Current, 50, 1_764_547_200_000, 1_767_225_600_000, 7);
        assert_eq!(a, sample_lines(SampleTable::Current, 50, 1_764_547_200_000, 1_767_225_600_000, 7));
        let text = a.join("\n");
        let items: Vec<_> = JsonLines::new(text.as_bytes()).collect();
        assert_eq!(items.len(), 50);
        assert!(items.iter().all(Result::is_ok));
    }
}
