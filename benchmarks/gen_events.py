"""Generate realistic chat events as the flat ``events`` JSONL of jivo_ops.logs (the schema,
one object per line, time-ordered, chats interleaved).

Each chat: ``/start`` and the bot's greeting, a question or two with bot answers, then in ~60%
of chats a request for an operator, the bot's text and ``switch``; then, per transfer, an
operator answer after a wait of seconds to minutes (most), ``noLivechatOperatorsOnline``, or
silence; a short exchange with the operator and a ``/closeChat`` with ``livechatFinished``.

    python benchmarks/gen_events.py OUT.jsonl [--events 1000000] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

__all__ = ["generate"]

QUESTIONS = ["Здравствуйте, как оформить возврат?", "Где мой заказ №{n}?", "Не проходит оплата картой",
             "Какие у вас часы работы?", "Можно изменить адрес доставки?", "Hi, I can't log in to my account"]
ANSWERS = ["Возврат оформляется в личном кабинете в разделе «Заказы».", "Заказ №{n} передан в доставку.",
           "Попробуйте другую карту или обновите страницу.", "Мы работаем ежедневно с 9:00 до 21:00.",
           "Адрес можно изменить до передачи заказа в доставку.", "Please reset your password from the login page."]
OPERATORS = ["Анна Смирнова", "Иван Петров", "Мария Кузнецова", "Олег Васильев", "Ekaterina Ivanova",
             "Дмитрий Соколов", "Светлана Морозова", "Алексей Новиков"]
OP_TEXTS = ["Здравствуйте! Меня зовут {op}, сейчас посмотрю.", "Проверила ваш заказ, всё в порядке.",
            "Могу ещё чем-то помочь?", "Передала вопрос в отдел логистики, ответ придёт на почту."]
T0 = int(datetime(2026, 11, 2, tzinfo=timezone.utc).timestamp() * 1_000_000)


def _chat(rng: random.Random, chat_no: int, start_us: int, out: list) -> None:
    chat = f"chat-{chat_no:07d}-{rng.randrange(16**6):06x}"
    session = f"{chat_no:07d}-{rng.randrange(16**8):08x}"
    t = start_us
    seq = 0

    def add(author, kind, text, operator=None, gap_s=(0.2, 4.0)):
        nonlocal t, seq
        t += int(rng.uniform(*gap_s) * 1_000_000)
        seq += 1
        out.append((t, chat, session, author, kind, text, operator, f"{session}:{seq}"))

    add("CLIENT", "text", "/start")
    add("BOT", "text", "Здравствуйте! Я виртуальный помощник. Чем могу помочь?", gap_s=(0.1, 0.8))
    for _ in range(rng.choice((1, 1, 2))):
        i, n = rng.randrange(len(QUESTIONS)), rng.randrange(10**5, 10**6)
        add("CLIENT", "text", QUESTIONS[i].format(n=n), gap_s=(3, 40))
        add("BOT", "text", ANSWERS[i].format(n=n), gap_s=(0.1, 0.8))
    if rng.random() < 0.6:
        add("CLIENT", "text", rng.choice(["Позовите оператора", "оператор", "Хочу поговорить с человеком",
                                          "operator please"]), gap_s=(3, 30))
        add("BOT", "text", "Соединяю с оператором, подождите немного.", gap_s=(0.1, 0.5))
        add("BOT", "switch", "Клиент просит оператора; история: /start → вопрос → ответ", gap_s=(0.0, 0.01))
        fate = rng.random()
        if fate < 0.8:
            op = rng.choice(OPERATORS)
            add("OPERATOR", "text", OP_TEXTS[0].format(op=op.split()[0]), op, gap_s=(2, 300))
            for _ in range(rng.choice((0, 1, 1, 2))):
                add("CLIENT", "text", rng.choice(["Спасибо", "А когда привезут?", "Ок, жду"]), gap_s=(5, 60))
                add("OPERATOR", "text", rng.choice(OP_TEXTS[1:]), op, gap_s=(5, 120))
            if rng.random() < 0.85:
                add("CLIENT", "text", "/closeChat", gap_s=(5, 60))
                add("SYSTEM", "event", "livechatFinished", gap_s=(0.05, 0.5))
                add("BOT", "text", "Рад был помочь! Оцените, пожалуйста, разговор.", gap_s=(0.1, 0.5))
            else:
                add("SYSTEM", "event", "livechatFinished", gap_s=(30, 600))
        elif fate < 0.92:
            add("SYSTEM", "event", "noLivechatOperatorsOnline", gap_s=(0.1, 1))
            add("BOT", "text", "Сейчас все операторы заняты, напишите нам позже.", gap_s=(0.1, 0.5))
        else:
            add("CLIENT", "text", "Алло, есть кто-нибудь?", gap_s=(60, 600))


def generate(path: str | Path, events: int = 1_000_000, *, seed: int = 7) -> Path:
    """Write about `events` events (exactly, cut at the end) to `path`; returns the path."""
    rng = random.Random(seed)
    rows: list = []
    chat_no = 0
    span_us = 7 * 86400 * 1_000_000  # a week of traffic
    per_chat = 10.0
    expected_chats = int(events / per_chat) + 1
    while len(rows) < events:
        _chat(rng, chat_no, T0 + int(rng.random() * span_us), rows)
        chat_no += 1
        if chat_no > expected_chats * 3:
            break
    rows = rows[:events]
    order = np.argsort(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)), kind="stable")
    dumps = json.dumps
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for i in order:
            t, chat, session, author, kind, text, operator, mid = rows[i]
            stamp = datetime.fromtimestamp(t / 1_000_000, tz=timezone.utc).isoformat(timespec="microseconds")
            fh.write(f'{{"ts":"{stamp}","chat":"{chat}","session":"{session}","author":"{author}",'
                     f'"kind":"{kind}","text":{dumps(text, ensure_ascii=False)},'
                     f'"operator":{dumps(operator, ensure_ascii=False)},"message_id":"{mid}"}}\n')
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(generate(args.out, args.events, seed=args.seed))
