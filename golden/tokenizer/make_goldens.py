#!/usr/bin/python3
"""Tokenizer and prompt goldens for IXC25.Tokenizer, from Debian's python3-sentencepiece.

Run from the repository root with Debian's interpreter:

    /usr/bin/python3 golden/tokenizer/make_goldens.py

Writes golden/tokenizer/data/:
  corpus.jsonl        the corpus: one JSON string per line (deterministic, seed below)
  corpus_ids.jsonl    sentencepiece encode(text) for each corpus line, one JSON array per line
  bytes_cases.jsonl   {"hex", "ids"}: sentencepiece encode(bytes) of malformed UTF-8
  hf_cases.jsonl      {"text", "add_bos", "ids"}: upstream's transformers path (see hf_encode below)
  decode_cases.jsonl  {"ids", "raw", "hf"}: sentencepiece decode(ids) and upstream's decode(ids, skip_special_tokens=True)
  prompt_cases.json   chat prompts (interleav_wrap_chat / build_inputs) and their segment layout
  MANIFEST.json       provenance and sha256 of every file

The transformers side (which cannot run here: no transformers package) is replicated in a few
lines from transformers 4.33.2's source, independently of the C# code:
  * tokenize(): the text is cut at the "no split" special tokens <s>, </s>, <unk> (bos, eos/pad,
    unk, registered by sanitize_special_tokens); InternLM2Tokenizer passes them as plain strings, so
    whitespace (str.strip) around each occurrence is removed ("We strip left and right by default");
    text pieces go through sp_model.encode(out_type=str) and piece_to_id.
  * build_inputs_with_special_tokens: [bos_id] + ids when add_special_tokens.
  * decode(skip_special_tokens=True): ids 0/1/2 dropped; convert_tokens_to_string = sp decode of the
    pieces, clean_up_tokenization (always, whatever clean_up_tokenization_spaces says), then a
    prefix space added and removed again.
"""
import json
import os
import random
import sys
import unicodedata

import numpy as np
import sentencepiece as spm
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "golden"))
from common.safetensors_io import write_manifest  # noqa: E402

SEED = 20240705
MODEL = os.path.join(HERE, "tokenizer.model")
OUT = os.path.join(HERE, "data")

sp = spm.SentencePieceProcessor(model_file=MODEL)

# ----------------------------------------------------------------------------- transformers 4.33 path

SPECIAL = ["<s>", "</s>", "<unk>"]


def hf_split(text):
    """tokens_trie.split + the default strip of both sides of each special token."""
    tokens, start, i = [], 0, 0
    while i < len(text):
        hit = next((t for t in SPECIAL if text.startswith(t, i)), None)
        if hit is None:
            i += 1
            continue
        if i > start:
            tokens.append(text[start:i])
        tokens.append(hit)
        i += len(hit)
        start = i
    if start < len(text):
        tokens.append(text[start:])
    for i, tok in enumerate(tokens):
        if tok in SPECIAL:
            left = tokens[i - 1] if i > 0 else None
            right = tokens[i + 1] if i < len(tokens) - 1 else None
            if right:
                tokens[i + 1] = right.lstrip()
            if left:
                tokens[i - 1] = left.rstrip()
    return [t for t in tokens if t]


def hf_encode(text, add_bos):
    out = [sp.bos_id()] if add_bos else []
    for tok in hf_split(text):
        if tok in SPECIAL:
            out.append(sp.piece_to_id(tok))
        else:
            out.extend(sp.piece_to_id(p) for p in sp.encode(tok, out_type=str))
    return out


def clean_up_tokenization(s):
    return (s.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",")
            .replace(" ' ", "'").replace(" n't", "n't").replace(" 'm", "'m").replace(" 's", "'s")
            .replace(" 've", "'ve").replace(" 're", "'re"))


def hf_decode(ids):
    special_ids = {sp.piece_to_id(t) for t in SPECIAL}
    tokens = [sp.id_to_piece(i) for i in ids if i not in special_ids]
    out = clean_up_tokenization(sp.decode(tokens))
    if tokens:  # _maybe_add_prefix_space compares a str with a set of ints: always adds the space
        out = " " + out
    return out[1:]


# ----------------------------------------------------------------------------- corpus

EN_WORDS = """the a an of to in and or but with without for from by on at as into over under between
through after before during while because although if when where which who whom whose what that this
these those it its they them their we us our you your he him his she her i me my is are was were be
been being have has had do does did can could will would shall should may might must not no yes very
quite rather just only also even still already soon now then there here again always never often
sometimes usually model image images token tokens text prompt sequence vector matrix tensor layer
layers attention head heads weight weights bias gradient loss training inference engine reference
byte bytes piece pieces merge merges score scores vocabulary language vision encoder decoder window
city river mountain forest ocean island bridge street garden market library museum station harbor
morning evening night summer winter spring autumn weather rain snow wind sunlight shadow silence
music painting letter story history science mathematics physics chemistry biology computer network
server client request response memory cache disk file folder path error warning message result value
people person child children family friend teacher student doctor artist writer engineer farmer
house room door window table chair bed kitchen road car train plane ship bicycle horse dog cat bird
fish tree flower grass stone water fire earth air light dark red green blue yellow white black small
large big little long short old new young ancient modern quick slow early late happy sad quiet loud
simple complex careful curious brave gentle strange familiar beautiful difficult easy important
walk walks walked run runs ran write writes wrote read reads think thinks thought know knows knew see
sees saw make makes made take takes took give gives gave find finds found tell tells told become
becomes became leave leaves left feel feels felt bring brings brought begin begins began keep keeps
kept hold holds held stand stands stood hear hears heard let lets mean means meant set sets meet
meets met pay pays paid sit sits sat speak speaks spoke lie lies lay lead leads led grow grows grew
lose loses lost fall falls fell send sends sent build builds built understand understands draw draws
drew break breaks broke spend spends spent cut cuts rise rises rose drive drives drove buy buys bought
wear wears wore choose chooses chose compute computes computed encode encodes encoded decode decodes
decoded tokenize tokenizes tokenized""".split()

EN_SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "It was the best of times, it was the worst of times.",
    "She didn't know whether the train would arrive on time, so she waited on the platform.",
    "\"Where are you going?\" he asked. \"Nowhere in particular,\" she replied.",
    "We're testing the tokenizer; it's supposed to be id-exact, and it'll be compared line by line.",
    "Dr. Smith (who'd arrived at 9:45 a.m.) said: 'Let's begin.'",
    "I can't believe it's already 2024 -- time flies, doesn't it?",
    "The model reads an image, splits it into 560x560 crops, and feeds 400 tokens per crop to the LLM.",
    "Hello , world . This is a test ! Isn 't it ? I 'm sure you 've seen it ; they 're here .",
    "Don't panic. Keep calm -- and carry on!!!",
    "E-mail: someone@example.com; URL: https://example.org/path?query=1&x=y#frag",
    "Price: $1,299.99 (was $1,499.00) -- save 13.3%!",
    "Mr. O'Neil's dog, Rex, barked at 3 a.m.; nobody slept.",
    "Zoë and Chloë visited the café in São Paulo, then Zürich, then Kraków.",
    "Ελληνικά, русский язык, עברית, العربية, हिन्दी, ไทย, tiếng Việt.",
]

ZH_WORDS = """我们 你们 他们 这个 那个 什么 为什么 怎么 时候 今天 明天 昨天 现在 以后 以前 已经 还是 但是
因为 所以 如果 虽然 可以 应该 需要 知道 觉得 认为 希望 喜欢 学习 工作 生活 问题 方法 技术 模型 图像
文本 语言 数据 计算 训练 推理 中国 北京 上海 城市 国家 世界 人民 社会 经济 文化 历史 科学 研究 发展
教育 学生 老师 朋友 家庭 孩子 医生 电脑 手机 网络 系统 程序 代码 软件 硬件 公司 市场 产品 服务 时间
地方 天气 春天 夏天 秋天 冬天 山 水 河 海 天 地 风 雨 雪 花 草 树 鸟 鱼 马 牛 羊 猫 狗 红色 绿色 蓝色
白色 黑色 大 小 多 少 高 低 长 短 新 旧 好 坏 快 慢 美丽 重要 简单 复杂 清楚 一 二 三 四 五 六 七 八 九 十
百 千 万 亿 吃饭 喝水 睡觉 走路 说话 看书 写字 开车 上班 下班 人工智能 深度学习 神经网络 大语言模型
多模态 浦语 灵笔 上海人工智能实验室 书生 视觉 编码器 解码器 注意力 分词器 词表""".split()

ZH_PUNCT = ["，", "。", "！", "？", "；", "：", "、", "“", "”", "（", "）", "《", "》", "——", "……"]

ZH_SENTENCES = [
    "你好，我是浦语·灵笔，一个多模态大语言模型。",
    "请仔细描述这张图片的内容，包括人物、场景和颜色。",
    "床前明月光，疑是地上霜。举头望明月，低头思故乡。",
    "今天天气很好，我们一起去公园散步吧！",
    "这段代码有一个错误：变量没有初始化……怎么办？",
    "上海人工智能实验室（Shanghai AI Laboratory）发布了 InternLM-XComposer-2.5。",
    "中华人民共和国成立于1949年10月1日。",
    "他说：“明天见！”然后就走了——再也没有回来。",
]

JA_WORDS = """わたし あなた かれ かのじょ これ それ あれ どこ なに いつ だれ なぜ どうして きょう あした
きのう いま がっこう せんせい がくせい ともだち かぞく でんしゃ くるま ひこうき えき みせ ほん しんぶん
てがみ でんわ コンピューター ネットワーク プログラム データ モデル トークナイザー テスト ファイル サーバー
ラーメン コーヒー テレビ カメラ ホテル レストラン 東京 大阪 京都 日本 日本語 英語 中国語 学生 先生 会社
時間 今日 明日 昨日 天気 雨 雪 桜 山 川 海 空 花 犬 猫 鳥 食べる 飲む 見る 聞く 話す 読む 書く 行く 来る
帰る する ある いる なる できる 思う 言う 知る 分かる 大きい 小さい 新しい 古い 高い 安い 美しい 静か
有名 便利 元気 大切 人工知能 画像 言語 処理 研究""".split()

JA_PARTICLES = ["は", "が", "を", "に", "で", "と", "の", "も", "へ", "から", "まで", "より"]
JA_ENDINGS = ["です。", "ます。", "でした。", "ました。", "ですか？", "でしょう。", "だ。", "よ！", "ね。", "。"]

KO_WORDS = """나 너 우리 그 그녀 이것 저것 무엇 언제 어디 누구 왜 어떻게 오늘 내일 어제 지금 학교 선생님
학생 친구 가족 회사 사람 시간 날씨 비 눈 바람 하늘 바다 산 강 꽃 나무 개 고양이 새 물고기 책 신문 편지
전화 컴퓨터 네트워크 프로그램 데이터 모델 토크나이저 테스트 파일 서버 커피 음식 한국 한국어 서울 부산
영어 중국어 일본어 인공지능 이미지 언어 처리 연구 사랑 행복 마음 생각 문제 방법 결과 가다 오다 보다 먹다
마시다 읽다 쓰다 말하다 듣다 배우다 가르치다 만들다 좋다 나쁘다 크다 작다 많다 적다 새롭다 아름답다
조용하다 중요하다""".split()

KO_PARTICLES = ["은", "는", "이", "가", "을", "를", "에", "에서", "와", "과", "의", "도", "로"]
KO_ENDINGS = ["입니다.", "습니다.", "해요.", "했어요.", "합니까?", "이에요.", "예요!", "다.", "요."]

EMOJI = ["😀", "😂", "🤣", "😍", "🥰", "😎", "🤖", "👍", "👍🏽", "👋🏿", "🙏", "🎉", "🔥", "💯", "❤️", "❤",
         "✨", "⭐", "🌍", "🚀", "🐍", "🦀", "🍣", "🍺", "☕", "⚡", "✅", "❌", "⚠️", "🇨🇳", "🇯🇵", "🇰🇷", "🇺🇸",
         "🇩🇪", "🏳️‍🌈", "👨‍👩‍👧‍👦", "👩‍💻", "🧑🏻‍🔬", "🫠", "🪐", "🧬", "🀄", "🃏", "©️", "®️", "™️", "#️⃣", "1️⃣",
         "🔟", "🈶", "🉐", "㊗️", "♻️", "☺︎", "✌️", "✍🏼", "🤌", "🥲"]

CONTROL = [chr(c) for c in list(range(0, 32)) + [0x7F] + list(range(0x80, 0xA0))] + [
    "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2028", "\u2029", "\u202a", "\u202b", "\u202c",
    "\u202d", "\u202e", "\u2060", "\u2066", "\u2067", "\u2068", "\u2069", "\ufeff", "\ufff9", "\ufffa",
    "\ufffb", "\ufffc", "\ufffd", "\u00ad", "\u180e", "\u3000", "\u00a0", "\u2002", "\u2003", "\u2009",
    "\u200a", "\u202f", "\u205f", "\u0085", "\u1680", "\u001c", "\u001d", "\u001e", "\u001f",
]

SPECIAL_SNIPPETS = ["[UNUSED_TOKEN_145]", "[UNUSED_TOKEN_146]", "[UNUSED_TOKEN_0]", "[UNUSED_TOKEN_1]",
                    "[UNUSED_TOKEN_99]", "[UNUSED_TOKEN_146", "UNUSED_TOKEN_145]", "[UNUSED_TOKEN_147]",
                    "[UNUSED_TOKEN_]", "[[UNUSED_TOKEN_145]]", "<s>", "</s>", "<unk>", "<s", "s>", "</s",
                    "<pad>", "<ImageHere>", "<0x41>", "<0xFF>", "\u2581", "\u2581\u2581", " \u2581 ",
                    "ｖ", "Ｅ", "ａ", "ｚ", "Ａ", "Ｏ", "——", "———", "————", "……", "………", "…", "—",
                    "[UNUSED_TOKEN_146]user\n", "[UNUSED_TOKEN_145]\n[UNUSED_TOKEN_146]assistant\n",
                    "\ufffd", "<|im_start|>", "<|im_end|>", "<s> ", " </s>", "\t<unk>\n"]


def en_sentence(rng):
    n = rng.randint(4, 22)
    words = [rng.choice(EN_WORDS) for _ in range(n)]
    if rng.random() < 0.3:
        words[rng.randrange(n)] = str(rng.randint(0, 100000))
    if rng.random() < 0.2:
        k = rng.randrange(n)
        words[k] = words[k].capitalize()
    s = " ".join(words)
    s = s[0].upper() + s[1:]
    if rng.random() < 0.3:
        k = rng.randrange(1, n)
        parts = s.split(" ")
        parts[k - 1] += rng.choice([",", ";", " --", ":", " (", "'s", "n't"])
        s = " ".join(parts)
    return s + rng.choice([".", ".", ".", "!", "?", "...", "", " .", " ,", "\u2026", ";"])


def en_line(rng):
    if rng.random() < 0.15:
        return rng.choice(EN_SENTENCES)
    k = rng.randint(1, 4)
    sep = rng.choice([" ", " ", " ", "  ", "\n", "\n\n", " \n"])
    return sep.join(en_sentence(rng) for _ in range(k))


def zh_line(rng):
    if rng.random() < 0.2:
        return rng.choice(ZH_SENTENCES)
    out = []
    for _ in range(rng.randint(1, 5)):
        n = rng.randint(2, 14)
        clause = "".join(rng.choice(ZH_WORDS) for _ in range(n))
        if rng.random() < 0.25:
            clause += str(rng.randint(0, 9999)) + rng.choice(["年", "个", "人", "元", "%", "次"])
        if rng.random() < 0.15:
            clause += rng.choice([" ", ""]) + rng.choice(EN_WORDS) + rng.choice([" ", ""])
        out.append(clause + rng.choice(ZH_PUNCT))
    return "".join(out)


def ja_line(rng):
    out = []
    for _ in range(rng.randint(1, 4)):
        n = rng.randint(1, 5)
        parts = []
        for _ in range(n):
            parts.append(rng.choice(JA_WORDS) + rng.choice(JA_PARTICLES))
        out.append("".join(parts) + rng.choice(JA_WORDS) + rng.choice(JA_ENDINGS))
    return rng.choice(["", "　", " "]).join(out)


def ko_line(rng):
    out = []
    for _ in range(rng.randint(1, 4)):
        n = rng.randint(1, 6)
        words = [rng.choice(KO_WORDS) + rng.choice(KO_PARTICLES) for _ in range(n)]
        out.append(" ".join(words) + " " + rng.choice(KO_WORDS) + rng.choice(KO_ENDINGS))
    return " ".join(out)


def ident(rng):
    w = [rng.choice(EN_WORDS) for _ in range(rng.randint(1, 3))]
    style = rng.randrange(3)
    if style == 0:
        return "_".join(w)
    if style == 1:
        return w[0] + "".join(x.capitalize() for x in w[1:])
    return "".join(x.capitalize() for x in w)


def code_python(rng, depth_max):
    lines = []
    indent = rng.choice(["    ", "  ", "\t"])

    def block(depth):
        for _ in range(rng.randint(1, 3)):
            if len(lines) > 35:
                return
            pre = indent * depth
            r = rng.random()
            if depth < depth_max and r < 0.4:
                head = rng.choice(["if {} > {}:", "for {} in range({}):", "while {} < {}:", "def {}({}):",
                                   "with open({!r}) as f:", "try:", "class {}({}):"])
                lines.append(pre + head.format(ident(rng), rng.randint(0, 99)) if "{}" in head or "{!r}" in head
                             else pre + head)
                block(depth + 1)
            elif r < 0.7:
                lines.append(pre + f"{ident(rng)} = {ident(rng)}({rng.randint(0, 1000)}, {ident(rng)}={rng.random():.4f})")
            elif r < 0.85:
                lines.append(pre + f"# {en_sentence(rng)}")
            else:
                lines.append(pre + f"return {{{ident(rng)!r}: [{rng.randint(0, 9)}, {rng.randint(10, 99)}]}}")
            if rng.random() < 0.15:
                lines.append("")

    block(0)
    eol = rng.choice(["\n", "\n", "\n", "\r\n"])
    return eol.join(lines) + rng.choice(["", "\n"])


def code_brace(rng, depth_max):
    lines = []
    indent = rng.choice(["    ", "  ", "\t", "        "])

    def block(depth):
        for _ in range(rng.randint(1, 3)):
            if len(lines) > 35:
                return
            pre = indent * depth
            if depth < depth_max and rng.random() < 0.45:
                lines.append(pre + rng.choice(["if ({} != {}) {{", "for (int {} = 0; {} < n; ++i) {{",
                                               "public static void {}({} x) {{", "while (!{}) {{",
                                               "switch ({}) {{", "namespace {}.{} {{"]).format(ident(rng), ident(rng)))
                block(depth + 1)
                lines.append(pre + "}")
            else:
                lines.append(pre + rng.choice([
                    f"var {ident(rng)} = new {ident(rng)}<int>({rng.randint(0, 64)});",
                    f"{ident(rng)} += {ident(rng)}[i * {rng.randint(2, 9)} + j] * 0x{rng.randint(0, 65535):04X};",
                    f"// {en_sentence(rng)}",
                    f"printf(\"%d %s\\n\", {rng.randint(0, 9)}, \"{ident(rng)}\");",
                    f"return {ident(rng)} ?? throw new ArgumentException(nameof({ident(rng)}));",
                    f"/* {ident(rng)} */ x = (x << {rng.randint(1, 31)}) | (y >>> 3);",
                ]))

    block(0)
    return "\n".join(lines)


def code_data(rng):
    kind = rng.randrange(3)
    if kind == 0:
        def obj(depth):
            if depth > rng.randint(1, 5):
                return rng.choice([rng.randint(-999, 999), rng.random(), ident(rng), None, True, False])
            return {ident(rng): obj(depth + 1) for _ in range(rng.randint(1, 3))}
        return json.dumps(obj(0), indent=rng.choice([2, 4, "\t"]), ensure_ascii=rng.random() < 0.5)
    if kind == 1:
        lines = []
        for d in range(rng.randint(3, 12)):
            lines.append("  " * d + f"{ident(rng)}:" + ("" if rng.random() < 0.6 else f" {rng.randint(0, 99)}"))
            if rng.random() < 0.3:
                lines.append("  " * (d + 1) + f"- {ident(rng)}")
        return "\n".join(lines)
    lines = []
    for d in range(rng.randint(3, 10)):
        lines.append(" " * (2 * d) + f"<{ident(rng)} id=\"{rng.randint(0, 99)}\">")
    for d in reversed(range(len(lines))):
        lines.append(" " * (2 * d) + "</div>")
    return "\n".join(lines)


def number_line(rng):
    parts = []
    for _ in range(rng.randint(1, 8)):
        r = rng.randrange(12)
        if r == 0:
            parts.append(str(rng.randint(0, 10 ** rng.randint(1, 30))))
        elif r == 1:
            parts.append(f"{rng.uniform(-1e6, 1e6):.{rng.randint(0, 8)}f}")
        elif r == 2:
            parts.append(f"{rng.uniform(-1, 1) * 10 ** rng.randint(-30, 30):e}")
        elif r == 3:
            parts.append(f"{rng.randint(1900, 2100)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}")
        elif r == 4:
            parts.append(f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}")
        elif r == 5:
            parts.append(f"+{rng.randint(1, 99)} ({rng.randint(100, 999)}) {rng.randint(100, 999)}-{rng.randint(1000, 9999)}")
        elif r == 6:
            parts.append(hex(rng.getrandbits(rng.randint(4, 128))))
        elif r == 7:
            parts.append(f"{rng.randint(0, 999):,}" if rng.random() < 0.5 else f"{rng.randint(0, 10**9):,}")
        elif r == 8:
            parts.append(f"{rng.randint(0, 100)}%")
        elif r == 9:
            parts.append(".".join(str(rng.randint(0, 255)) for _ in range(4)))
        elif r == 10:
            parts.append("".join(rng.choice("0123456789") for _ in range(rng.randint(1, 60))))
        else:
            parts.append(rng.choice(["１２３", "四五六", "ⅠⅡⅢⅣ", "①②③", "٣٤٥", "१२३", "½", "¾", "π≈3.14159", "∞", "√2", "x²+y²=z²"]))
    return rng.choice([" ", ", ", "\n", "\t", " = ", " / "]).join(parts)


def emoji_line(rng):
    out = []
    for _ in range(rng.randint(1, 12)):
        r = rng.random()
        if r < 0.5:
            out.append(rng.choice(EMOJI))
        elif r < 0.7:
            out.append(rng.choice(EN_WORDS))
        elif r < 0.8:
            out.append(rng.choice(ZH_WORDS))
        else:
            out.append(rng.choice(EMOJI) * rng.randint(2, 5))
    return rng.choice(["", " ", " ", "\n"]).join(out)


def control_line(rng):
    out = []
    for _ in range(rng.randint(1, 16)):
        r = rng.random()
        if r < 0.5:
            out.append("".join(rng.choice(CONTROL) for _ in range(rng.randint(1, 4))))
        elif r < 0.75:
            out.append(rng.choice(EN_WORDS))
        elif r < 0.85:
            out.append(rng.choice(["\r\n", "\r", "\n\r", "\t\t", "\x00\x00", "\x1b[31m", "\x1b[0m"]))
        else:
            out.append(rng.choice(ZH_WORDS + KO_WORDS))
    return "".join(out)


def whitespace_line(rng):
    out = []
    for _ in range(rng.randint(1, 10)):
        r = rng.random()
        if r < 0.3:
            out.append(" " * rng.choice([1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 100, 127, 128, 129, 255, 256, 1000]))
        elif r < 0.45:
            out.append("\n" * rng.randint(1, 40))
        elif r < 0.55:
            out.append("\t" * rng.randint(1, 20))
        elif r < 0.7:
            out.append("".join(rng.choice([" ", "\n", "\t", "\r", "\r\n", "\u3000", "\u00a0", "\u2581"]) for _ in range(rng.randint(1, 60))))
        else:
            out.append(rng.choice(EN_WORDS + ZH_WORDS))
    return "".join(out)


def special_line(rng):
    out = []
    for _ in range(rng.randint(1, 10)):
        r = rng.random()
        if r < 0.45:
            out.append(rng.choice(SPECIAL_SNIPPETS))
        elif r < 0.55:
            out.append(f"[UNUSED_TOKEN_{rng.randint(0, 160)}]")
        elif r < 0.8:
            out.append(rng.choice(EN_WORDS + ZH_WORDS))
        else:
            out.append(rng.choice([" ", "  ", "\n", "\t", " \n ", "\u3000"]))
    return rng.choice(["", "", " ", "\n"]).join(out)


def random_unicode_line(rng):
    out = []
    for _ in range(rng.randint(1, 40)):
        r = rng.random()
        if r < 0.4:
            cp = rng.randint(0x20, 0x2FFF)
        elif r < 0.6:
            cp = rng.randint(0x3000, 0xD7FF)
        elif r < 0.7:
            cp = rng.randint(0xE000, 0xFFFF)
        elif r < 0.85:
            cp = rng.randint(0x10000, 0x10FFFF)
        else:
            cp = rng.randint(0x1F300, 0x1FAFF)
        out.append(chr(cp))
    return "".join(out)


def mixed_line(rng):
    gens = [en_line, zh_line, ja_line, ko_line, number_line, emoji_line, special_line]
    return rng.choice(["", " ", "\n", "\t"]).join(rng.choice(gens)(rng) for _ in range(rng.randint(2, 4)))


HAND_WRITTEN = [
    "", " ", "  ", "\n", "\t", "\r\n", "\x00", "a", "ab", "abc", "hello world", " hello", "hello ", "  hello  world  ",
    "Hello, World!", "HELLO WORLD", "hElLo WoRlD", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "ababababababababababababababababab", "the the the the the the the the", "........................................",
    "----------------------------------------", "================================", "////////////////////////////////",
    "!!!!!!!!!!!!!!!??????????????", "''''''''\"\"\"\"\"\"\"\"````````", "::::;;;;,,,,", "(((())))[[[[]]]]{{{{}}}}",
    "一", "中文", "你好世界", "你好，世界！", "日本語のテキスト", "한국어 텍스트", "Ａｂｃ", "ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ",
    "ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ", "０１２３４５６７８９", "！＂＃＄％＆＇（）＊＋，－．／",
    "[UNUSED_TOKEN_146]system\nYou are a helpful assistant.[UNUSED_TOKEN_145]\n[UNUSED_TOKEN_146]user\nHi![UNUSED_TOKEN_145]\n[UNUSED_TOKEN_146]assistant\n",
    "<s>[UNUSED_TOKEN_146]user\nhello[UNUSED_TOKEN_145]\n[UNUSED_TOKEN_146]assistant\n",
    "<ImageHere>Describe the image.<ImageHere>", "</s></s><s><s><unk>", "< s > < / s > <unk >",
    "\u2581", "\u2581\u2581\u2581", "a\u2581b", "\u2581hello", "hello\u2581", "\ufffd", "\ufffd\ufffd\ufffd",
    "\U0001F600", "\U0001F468\u200D\U0001F469\u200D\U0001F467", "\U0010FFFF", "\U000E0001", "\uFFFF\uFFFE",
    "def f(x):\n    return x\n", "\tif (x) {\n\t\treturn y;\n\t}\n", "#include <stdio.h>\nint main(void) { return 0; }\n",
    " " * 5000, "\n" * 2000, "\t" * 1000, "\r\n" * 500, " \n" * 700, "a" * 3000, "中" * 2000, "😀" * 500,
    "\u2581" * 300, "[UNUSED_TOKEN_145]" * 100, "——" * 200, "…" * 301, "0" * 1000, "1234567890" * 100,
    "The quick brown fox jumps over the lazy dog. " * 40,
    "Hello , world . it 's fine , isn 't it ? I 've seen they 're here ! ' quoted ' text .",
]


def build_corpus():
    rng = random.Random(SEED)
    plan = [
        (en_line, 1100), (zh_line, 700), (ja_line, 350), (ko_line, 350),
        (lambda r: code_python(r, r.randint(2, 9)), 300), (lambda r: code_brace(r, r.randint(2, 10)), 300),
        (code_data, 200), (number_line, 400), (emoji_line, 300), (control_line, 300), (whitespace_line, 250),
        (special_line, 400), (random_unicode_line, 350), (mixed_line, 300),
    ]
    corpus = list(HAND_WRITTEN)
    for gen, count in plan:
        corpus.extend(gen(rng) for _ in range(count))
    # A few long documents (performance and no recursion limits).
    corpus.append("\n\n".join(en_line(rng) for _ in range(150)))
    corpus.append("".join(zh_line(rng) for _ in range(150)))
    corpus.append("\n".join(code_python(rng, 12) for _ in range(15)))
    return corpus


# ----------------------------------------------------------------------------- writing

def escape_json_line(obj):
    """json.dumps with non-ASCII kept readable, but every control, format, separator, private-use,
    unassigned or non-space whitespace character escaped so that each record stays on one line."""
    s = json.dumps(obj, ensure_ascii=False)
    out = []
    for ch in s:
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cf", "Zl", "Zp", "Co", "Cn", "Cs") or (cat == "Zs" and ch != " "):
            cp = ord(ch)
            if cp > 0xFFFF:
                cp -= 0x10000
                out.append("\\u%04x\\u%04x" % (0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF)))
            else:
                out.append("\\u%04x" % cp)
        else:
            out.append(ch)
    line = "".join(out)
    assert json.loads(line) == obj
    return line


def write_lines(name, records):
    with open(os.path.join(OUT, name), "w", encoding="utf-8", newline="\n") as f:
        for r in records:
            f.write(escape_json_line(r) + "\n")


def bytes_cases(rng):
    fixed = [b"a\xe2\x82b", b"\xff", b"\xfe\xff", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xed\xbf\xbf",
             b"\xf4\x90\x80\x80", b"\xf0\x9f\x98", b"\xf0\x9f\x98\x80", b"\x80\x80\x80", b"\xc3", b"\xc3(",
             b"hello \xe4\xbd world", b"\xe4\xbd\xa0\xe5\xa5", b" \xa0 ", b"\xef\xbf\xbd", b"\xef\xbf",
             b"[UNUSED_TOKEN_145]\xff[UNUSED_TOKEN_146]", b"\xe2\x80\x94\xe2\x80\x94\xe2\x80", b"\xe2\xe2\x80\x94\xe2\x80\x94"]
    cases = list(fixed)
    for _ in range(200):
        n = rng.randint(1, 40)
        b = bytearray()
        for _ in range(n):
            r = rng.random()
            if r < 0.4:
                b.append(rng.randint(0, 255))
            elif r < 0.7:
                b.extend(rng.choice(["a", " ", "中", "😀", "é", "\n"]).encode())
            else:
                b.extend(rng.choice(["中", "😀", "é", "ｖ", "——"]).encode()[: rng.randint(1, 3)])
        cases.append(bytes(b))
    return [{"hex": c.hex(), "ids": sp.encode(c)} for c in cases]


def decode_cases(rng, corpus):
    cases = []
    vocab = sp.get_piece_size()
    for _ in range(400):
        ids = []
        for _ in range(rng.randint(0, 30)):
            r = rng.random()
            if r < 0.45:
                ids.append(rng.randint(259, vocab - 1))
            elif r < 0.75:
                ids.append(rng.randint(3, 258))  # byte pieces, mostly forming invalid UTF-8
            elif r < 0.85:
                ids.append(rng.choice([0, 1, 2]))
            else:
                ids.extend(sp.encode(rng.choice(["😀", "中", "é", "ꙮ", "\U0001F9EC"])))
        cases.append(ids)
    for text in rng.sample(corpus, 300):
        cases.append(sp.encode(text))
    for text in ["Hello , world . it 's fine , isn 't it ? I 've seen they 're here ! ' quoted ' text .",
                 "a .b ,c !d ?e ' f 'm 's 've 're n't", " leading space", "▁x", "[UNUSED_TOKEN_145]tail",
                 "answer[UNUSED_TOKEN_145]\n[UNUSED_TOKEN_146]user", "<s> </s>"]:
        cases.append(sp.encode(text))
    cases.append([1] + sp.encode("The answer is 42 .") + [92542, 2])
    return [{"ids": ids, "raw": sp.decode(ids), "hf": hf_decode(ids)} for ids in cases]


def hf_cases(rng, corpus):
    texts = [t for t in corpus if any(s in t for s in SPECIAL)]
    texts += [
        "<s>", "</s>", "<unk>", " <s> ", "a <s> b", "a\n\n<s>\n\nb", "a</s>b", "x <unk>\ty", "<s><s>", "<s> </s>",
        "\u3000<s>\u3000", "\u00a0<s>\u0085", "\x1c<s>\x1f", "\u200b<s>\u200b", "\u2581<s>\u2581", "<<s>>", "<</s>>",
        "<s>[UNUSED_TOKEN_146]user\nhi[UNUSED_TOKEN_145]\n[UNUSED_TOKEN_146]assistant\n",
        "text with </s> inside and <unk> too", "  spaces  <s>  around  ", "<S> <UNK> </S>", "<s", "s>", "</s", "<un k>",
        "", " ", "plain text without specials", "[UNUSED_TOKEN_145] [UNUSED_TOKEN_146]",
    ]
    texts += rng.sample(corpus, 100)
    out = []
    for t in texts:
        for add_bos in (False, True):
            out.append({"text": t, "add_bos": add_bos, "ids": hf_encode(t, add_bos)})
    return out


# ----------------------------------------------------------------------------- prompts

META = ('You are an AI assistant whose name is InternLM-XComposer (浦语·灵笔).\n'
        '- InternLM-XComposer (浦语·灵笔) is a multi-modality conversational language model that is developed by Shanghai AI Laboratory (上海人工智能实验室). It is designed to be helpful, honest, and harmless.\n'
        '- InternLM-XComposer (浦语·灵笔) can understand and communicate fluently in the language chosen by the user such as English and 中文.\n'
        '- InternLM-XComposer (浦语·灵笔) is capable of comprehending and articulating responses effectively based on the provided image.')


def image_plan(width, height, hd_num):
    """Image_transform's geometry (ixc_utils.py) and the vit's token count (build_mlp.py)."""
    trans = width < height
    if trans:
        width, height = height, width
    ratio = width / height
    scale = 1
    while scale * np.ceil(scale / ratio) <= hd_num:
        scale += 1
    scale -= 1
    scale = min(np.ceil(width / 560), scale)
    new_w = int(scale * 560)
    new_h = int(new_w / ratio)
    pad_h = int(np.ceil(new_h / 560) * 560)
    W, H = (pad_h, new_w) if trans else (new_w, pad_h)
    h, w = H // 560, W // 560
    return int((h * w + 1) * 400 + 1 + (h + 1) * 20), h, w


def conversation(query, history, meta):
    prompt = ""
    if meta:
        prompt += f"[UNUSED_TOKEN_146]system\n{meta}[UNUSED_TOKEN_145]\n"
    for q, a in history:
        prompt += f"[UNUSED_TOKEN_146]user\n{q}[UNUSED_TOKEN_145]\n[UNUSED_TOKEN_146]assistant\n{a}[UNUSED_TOKEN_145]\n"
    prompt += f"[UNUSED_TOKEN_146]user\n{query}[UNUSED_TOKEN_145]\n[UNUSED_TOKEN_146]assistant\n"
    return prompt


def interleav_wrap_chat(query, images, history, meta, max_length, hd_num):
    """The segmentation of interleav_wrap_chat (embeddings replaced by ids / image token counts)."""
    prompt = conversation(query, history, meta)
    if len(images) == 1 and prompt.find("<ImageHere>") == -1:
        prompt = "<ImageHere>" + prompt
    parts = prompt.split("<ImageHere>")
    assert len(parts) == len(images) + 1
    if len(images) > 1:
        hd_num = 6
    segments, encoded_images, temp_len, need_bos = [], [], 0, True
    for idx, part in enumerate(parts):
        if need_bos or len(part) > 0:
            ids = hf_encode(part, need_bos)
            need_bos = False
            segments.append({"type": "text", "ids": ids, "start": temp_len, "length": len(ids)})
            temp_len += len(ids)
        if idx < len(images):
            path = images[idx]
            with Image.open(os.path.join(ROOT, path)) as im:
                w, h = im.size
            tokens, rows, cols = image_plan(w, h, hd_num)
            segments.append({"type": "image", "index": idx, "path": path, "tokens": tokens, "start": temp_len,
                             "length": tokens, "grid": [rows, cols], "hd_num": hd_num, "size": [w, h]})
            encoded_images.append({"index": idx, "tokens": tokens, "grid": [rows, cols], "hd_num": hd_num})
            temp_len += tokens
        if temp_len > max_length:
            break
    full_length = temp_len
    kept = []
    for s in segments:
        if s["start"] >= max_length:
            continue
        keep = min(s["length"], max_length - s["start"])
        s = dict(s)
        s["length"] = keep
        if s["type"] == "text":
            s["ids"] = s["ids"][:keep]
        kept.append(s)
    total = min(full_length, max_length)
    ranges = [[s["start"], s["start"] + s["length"]] for s in kept if s["type"] == "image" and s["length"] > 0]
    return {"segments": kept, "total_length": total, "untruncated_length": full_length, "truncated": full_length > max_length,
            "im_mask_ranges": ranges, "encoded_images": encoded_images}


def build_inputs(query, history, meta):
    prompt = (f"<s>[UNUSED_TOKEN_146]system\n{meta}[UNUSED_TOKEN_145]\n" if meta else "<s>") + conversation(query, history, "")
    ids = hf_encode(prompt, True)
    return {"segments": [{"type": "text", "ids": ids, "start": 0, "length": len(ids)}], "total_length": len(ids),
            "untruncated_length": len(ids), "truncated": False, "im_mask_ranges": [], "encoded_images": []}


def prompt_cases():
    hist = [["What is in the first picture?", "Two cars parked on a street ."],
            ["你能再详细一点吗？", "当然可以：左边是一辆红色的车，右边是一辆白色的车。"]]
    cases = [
        dict(name="single_image_auto_marker", path="chat", query="Describe this image in detail.",
             images=["golden/media/cars1.jpg"]),
        dict(name="single_image_marker_in_query", path="chat", query="Look at <ImageHere> and tell me the color of the car.",
             images=["golden/media/cars2.jpg"]),
        dict(name="single_image_marker_at_end", path="chat", query="What is this?<ImageHere>",
             images=["golden/media/screenshot.jpg"]),
        dict(name="single_portrait_image_meta", path="chat", query="What city is this?",
             images=["golden/media/dubai.png"], meta=True),
        dict(name="single_image_hd_num_4", path="chat", query="Describe.", images=["golden/media/screenshot.jpg"], hd_num=4),
        dict(name="multi_image", path="chat",
             query="Image1 <ImageHere>; Image2 <ImageHere>; Image3 <ImageHere>; I want to buy a car from the three given cars, analyze their advantages and weaknesses one by one",
             images=["golden/media/cars1.jpg", "golden/media/cars2.jpg", "golden/media/image1.webp"]),
        dict(name="multi_image_adjacent_markers", path="chat", query="<ImageHere><ImageHere>Compare the two images.",
             images=["golden/media/panda.jpeg", "golden/media/dubai.png"]),
        dict(name="history_with_image", path="chat", query="And the second one?", images=["golden/media/cars1.jpg"],
             history=hist, meta=True),
        dict(name="history_marker_in_history", path="chat", query="Thanks!", images=["golden/media/panda.jpeg"],
             history=[["<ImageHere>What animal is this?", "It is a panda."]]),
        dict(name="chat_no_image", path="chat", query="Tell me a joke about tokenizers.", images=[]),
        dict(name="chat_no_image_history_meta", path="chat", query="继续。", images=[], history=hist, meta=True),
        dict(name="chat_special_strings_in_query", path="chat",
             query="What do </s> and <unk> mean ?  <s>  here", images=["golden/media/cars1.jpg"]),
        dict(name="text_only", path="text", query="Hello! Who are you?"),
        dict(name="text_only_meta_history", path="text", query="再说一遍 , please .", history=hist, meta=True),
        dict(name="text_only_special_strings", path="text", query="a </s> b\n\n<s>\nc"),
        dict(name="truncated_in_image", path="chat", query="Describe this image.", images=["golden/media/dubai.png"],
             max_length=1000),
        dict(name="truncated_in_text", path="chat", query="Describe the image. " * 100, images=["golden/media/panda.jpeg"],
             max_length=1000),
        dict(name="truncated_multi_image_drops_last", path="chat",
             query="A <ImageHere> B <ImageHere> C <ImageHere> done", images=["golden/media/cars1.jpg", "golden/media/screenshot.jpg", "golden/media/panda.jpeg"],
             max_length=2500),
        dict(name="truncated_exactly_at_boundary", path="chat", query="<ImageHere>", images=["golden/media/panda.jpeg"],
             max_length=1),
    ]
    out = []
    for c in cases:
        history = c.get("history", [])
        meta = META if c.get("meta") else ""
        if c["path"] == "chat":
            expected = interleav_wrap_chat(c["query"], c["images"], history, meta, c.get("max_length", 16384), c.get("hd_num", 24))
        else:
            expected = build_inputs(c["query"], history, meta)
        out.append({"name": c["name"], "path": c["path"], "query": c["query"], "images": c.get("images", []),
                    "history": history, "meta": bool(c.get("meta")), "hd_num": c.get("hd_num", 24),
                    "max_length": c.get("max_length", 16384), "expected": expected})
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = random.Random(SEED + 1)
    corpus = build_corpus()
    write_lines("corpus.jsonl", corpus)
    with open(os.path.join(OUT, "corpus_ids.jsonl"), "w", newline="\n") as f:
        for text in corpus:
            f.write(json.dumps(sp.encode(text), separators=(",", ":")) + "\n")
    write_lines("bytes_cases.jsonl", bytes_cases(rng))
    write_lines("hf_cases.jsonl", hf_cases(rng, corpus))
    write_lines("decode_cases.jsonl", decode_cases(rng, corpus))
    with open(os.path.join(OUT, "prompt_cases.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(prompt_cases(), f, ensure_ascii=False, indent=1)
        f.write("\n")
    write_manifest(OUT, "golden/tokenizer/make_goldens.py", seed=SEED,
                   extra={"sentencepiece": spm.__version__, "corpus_lines": len(corpus),
                          "model_sha256": __import__("hashlib").sha256(open(MODEL, "rb").read()).hexdigest()})
    print(f"{len(corpus)} corpus lines written to {OUT}")


if __name__ == "__main__":
    main()
