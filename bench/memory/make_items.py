#!/usr/bin/env python3
"""Writes N bedrock-chat conversation items as DynamoDB Export JSON lines,
for the memory benchmark: one user per 20 conversations, dates spread over
two years (about 730 daily partitions), a short map (system, user,
assistant) so that millions fit on disk (about 900 bytes an item).

    python3 bench/memory/make_items.py N OUT.jsonl
"""
import json
import random
import sys

QUESTIONS = [
    "¿Cuál es el procedimiento para solicitar vacaciones este año?",
    "Necesito un resumen del informe trimestral de ventas de la región Andina.",
    "Can you draft an email to the vendor about the delayed shipment?",
    "What's the difference between a LEFT JOIN and an INNER JOIN?",
]
ANSWER = "Claro. " + "Aquí tienes los pasos principales, con el detalle de cada uno. " * 3


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    rnd = random.Random(20261202)
    start_ms = 1_733_011_200_000  # 2024-12-01
    span_ms = 730 * 86_400_000
    with open(out, "w", encoding="utf-8") as f:
        for k in range(n):
            pk = f"user-{k // 20:07d}-{rnd.randrange(1 << 30):08x}"
            created = start_ms + rnd.randrange(span_ms)
            q = QUESTIONS[k % len(QUESTIONS)]
            m = {
                "system": {"role": "system", "content": [{"content_type": "text", "body": ""}], "model": "claude-v3.5-sonnet",
                           "children": ["u1"], "parent": None, "create_time": created, "feedback": None},
                "u1": {"role": "user", "content": [{"content_type": "text", "body": q}], "model": "claude-v3.5-sonnet",
                       "children": ["a1"], "parent": "system", "create_time": created + 1000, "feedback": None},
                "a1": {"role": "assistant", "content": [{"content_type": "text", "body": ANSWER}],
                       "model": "claude-v3.5-sonnet", "children": [], "parent": "u1", "create_time": created + 5000,
                       "feedback": {"thumbs_up": k % 3 == 0, "category": "", "comment": ""} if k % 5 == 0 else None},
            }
            item = {
                "PK": {"S": pk},
                "SK": {"S": f"{pk}#CONV#{k:09d}"},
                "CreateTime": {"N": str(created)},
                "LastMessageId": {"S": "a1"},
                "MessageMap": {"S": json.dumps(m)},
                "TotalPrice": {"N": f"{rnd.random() / 50:.6f}"},
                "BotId": {"S": ""},
            }
            f.write(json.dumps({"Item": item}) + "\n")


main()
