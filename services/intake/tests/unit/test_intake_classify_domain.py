"""Classification without a database: segmentation, rules, the naive Bayes model, urgency and learning."""
from collections import Counter

import pytest

from intake.domain.classify import (Classifier, Example, NaiveBayes, Rule, Segmenter, default_category_keys,
                                    default_rules, map_severity)
from intake.domain.classify_defaults import DEFAULT_RULES
from intake.samples import is_test, load_samples, heldout_samples, train_samples

CATEGORIES = default_category_keys()


@pytest.fixture(scope="module")
def classifier():
    return Classifier(CATEGORIES, default_rules(), list(train_samples()))


def test_jieba_segments_chinese_and_drops_punctuation_and_stopwords():
    tokens = Segmenter.tokens("电梯困人半小时了，物业的电话没人接！")
    assert "电梯" in tokens and "困人" in tokens and "物业" in tokens
    assert "，" not in tokens and "！" not in tokens and "的" not in tokens and "了" not in tokens


def test_features_add_character_bigrams_to_the_tokens():
    features = Segmenter.features("楼道漏水")
    assert features[:2] == Segmenter.tokens("楼道漏水")
    assert {"楼道", "道漏", "漏水"} <= set(features)


def test_naive_bayes_learns_from_weighted_examples():
    model = NaiveBayes().fit([["电梯", "故障"], ["垃圾", "臭"]], ["equipment", "dirt"])
    assert max(model.predict_proba(["电梯"]).items(), key=lambda kv: kv[1])[0] == "equipment"
    assert model.predict_proba(["从未见过"]) == pytest.approx({"equipment": 0.5, "dirt": 0.5})
    heavy = NaiveBayes().fit([["漏水"], ["漏水"]], ["a", "b"], weights=[1.0, 5.0])
    assert heavy.predict_proba(["漏水"])["b"] > 0.8


@pytest.mark.parametrize("text, category", [
    ("2号楼的电梯又坏了，停在八楼不动，老人上下楼很困难", "facilities_equipment"),
    ("单元门口的垃圾三天没人收了，味道很大", "sanitation"),
    ("昨晚车库里我的电动车电瓶被人偷了，保安说监控看不清", "security"),
    ("楼下的草坪很久没人修剪，杂草丛生", "greening"),
    ("服务中心的工作人员态度恶劣，问个问题就不耐烦", "customer_service"),
    ("新房的客厅墙面出现了好几条裂缝，卫生间还渗水", "house_quality"),
    ("收房的时候开发商说要先交费才给钥匙", "handover"),
    ("燃气公司通知停气也不说什么时候恢复，小区外的道路也被挖开了", "municipal"),
    ("建议在小区门口多设几个快递柜", "suggestion"),
])
def test_known_examples(classifier, text, category):
    suggestion = classifier.suggest(text)
    assert suggestion.category == category, suggestion.categories
    assert len(suggestion.categories) == 3
    assert suggestion.categories[0]["score"] >= suggestion.categories[1]["score"] >= suggestion.categories[2]["score"]


@pytest.mark.parametrize("text", [
    "电梯困人，里面有个孩子在哭",
    "地下车库有车起火了，烟很大",
    "家里被盗了，门锁被撬",
    "我们三十多户业主联名投诉，已经联系了记者",
])
def test_urgency_hints_make_it_major(classifier, text):
    suggestion = classifier.suggest(text)
    assert suggestion.severity == "major"
    assert suggestion.urgency_hints


def test_a_weak_hint_pushes_towards_major_without_deciding_alone(classifier):
    plain = classifier.suggest("卧室天花板有一点水印")
    pushed = classifier.suggest("卧室天花板有一点漏水")
    assert "漏水" in pushed.urgency_hints
    assert pushed.severity_scores["major"] > plain.severity_scores["major"]


def test_a_suggestion_is_mostly_minor(classifier):
    assert classifier.suggest("建议物业在小区里多放几张长椅").severity == "minor"


def test_matched_keywords_are_reported(classifier):
    suggestion = classifier.suggest("楼下草坪上全是狗屎")
    assert {"keyword": "狗屎", "category": "sanitation", "weight": 3.0} in suggestion.matched_keywords


def test_a_strong_tenant_rule_beats_the_model():
    examples = list(train_samples())
    text = "小区东门的快递驿站门口总是堆满纸箱"
    plain = Classifier(CATEGORIES, default_rules(), examples).suggest(text)
    assert plain.category != "customer_service"
    tenant_rules = default_rules() + [Rule("customer_service", "快递驿站", 20.0)]
    ruled = Classifier(CATEGORIES, tenant_rules, examples).suggest(text)
    assert ruled.category == "customer_service"
    assert ruled.categories[0]["score"] > 0.8


def test_corrections_change_the_prediction_after_retraining():
    examples = list(train_samples())
    text = "地下车库的积水很深，车都开不进去"
    before = Classifier(CATEGORIES, default_rules(), examples).suggest(text)
    assert before.category != "municipal"
    corrections = [Example("地下车库积水是市政管网排不出去造成的", "municipal", "moderate", feedback=True),
                   Example("车库的积水来自外面的市政道路", "municipal", "moderate", feedback=True),
                   Example(text, "municipal", "moderate", feedback=True)]
    after = Classifier(CATEGORIES, default_rules(), examples + corrections).suggest(text)
    assert after.category == "municipal"


def test_categories_are_the_tenants_own():
    examples = list(train_samples())
    only_two = Classifier(["sanitation", "parking"], default_rules() + [Rule("parking", "车位", 5.0)], examples)
    assert {c["category"] for c in only_two.suggest("我的车位被别人占了").categories} <= {"sanitation", "parking"}
    assert only_two.suggest("我的车位被别人占了").category == "parking"


def test_severity_follows_the_tenants_scheme_by_rank(classifier):
    levels = ("general", "important", "major")
    assert [map_severity(s, levels) for s in ("minor", "moderate", "major")] == list(levels)
    assert map_severity("urgent", ("routine", "urgent")) == "urgent"
    assert [map_severity(s, ("routine", "urgent")) for s in ("minor", "moderate", "major")] == \
        ["routine", "routine", "urgent"]
    other = Classifier(CATEGORIES, default_rules(), list(train_samples()), severity_levels=levels)
    assert other.suggest("电梯困人").severity == "major"
    assert other.suggest("建议多放几张长椅").severity == "general"


def test_no_rule_and_no_model_means_no_category():
    empty = Classifier(CATEGORIES, [], [])
    suggestion = empty.suggest("随便写点什么")
    assert suggestion.category is None and suggestion.categories == []


def test_the_sample_set_is_large_balanced_and_well_formed():
    samples = load_samples()
    assert len(samples) >= 400
    per_category = Counter(s.category for s in samples)
    assert set(per_category) == set(CATEGORIES) == set(DEFAULT_RULES)
    assert min(per_category.values()) >= 40
    assert {s.severity for s in samples} == {"minor", "moderate", "major"}
    assert len({s.text for s in samples}) == len(samples)


def test_the_split_is_deterministic_and_disjoint():
    train, test = train_samples(), heldout_samples()
    assert len(train) + len(test) == len(load_samples())
    assert not {e.text for e in train} & {e.text for e in test}
    assert 0.1 < len(test) / len(load_samples()) < 0.3
    assert all(is_test(e.text) for e in test) and not any(is_test(e.text) for e in train)


def test_held_out_accuracy_sanity_floor(classifier):
    test = heldout_samples()
    right = sum(classifier.suggest(e.text).category == e.category for e in test)
    assert right / len(test) >= 0.6
