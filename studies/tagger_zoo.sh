#!/usr/bin/env bash
# Reproduce the tagger zoo: generate the samples (skipped when present), train every shipped
# network on them, and evaluate all taggers on the held-out samples. docs/taggers.md holds the
# results and the timings on a 2-core CPU. Usage:
#   studies/tagger_zoo.sh [generate|decorrelation|train|evaluate|all]   (default: all)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${HEPML_COFFEA_ZOO:-$HOME/.cache/hepml-coffea/zoo}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
cd "$REPO"  # runs from any directory: outputs go to docs/ of this repository
step=${1:-all}

sample() {  # process events seed
    local file="$CACHE/$1_$2_seed$3.root"
    [[ -f $file ]] || hepml-coffea generate --process "$1" --events "$2" --seed "$3" --jobs 2 --output "$file" >&2
    echo "$file"
}

if [[ $step == generate || $step == train || $step == all ]]; then
    SIGNAL_TRAIN=("$(sample ttbar 100000 31)" "$(sample ttbar 25000 21)")
    BACKGROUND_TRAIN=("$(sample qcd 60000 32)" "$(sample qcd 25000 22)")
fi
if [[ $step == generate || $step == evaluate || $step == all ]]; then
    # held-out: seeds never used for training, >= 50k jets per class
    SIGNAL_TEST=$(sample ttbar 170000 101)
    BACKGROUND_TEST=$(sample qcd 105000 102)
fi

if [[ $step == generate || $step == decorrelation || $step == all ]]; then
    # mass decorrelation (docs/decorrelation.md): a validation pair to choose the shipped pfn_md
    # and pfn_ddt on, more held-out QCD, because 1/JSD50 needs many QCD jets passing a tight cut,
    # and a calibration pair no network was trained on, to fit pfn_ddt's mass profile on
    sample ttbar 30000 104 >/dev/null
    sample qcd 60000 103 >/dev/null
    sample qcd 200000 105 >/dev/null
    sample qcd 200000 106 >/dev/null
    sample ttbar 100000 107 >/dev/null
fi

if [[ $step == train || $step == all ]]; then
    train() {  # plugin epochs patience
        hepml-coffea train --plugin "$1" --signal "${SIGNAL_TRAIN[@]}" --background "${BACKGROUND_TRAIN[@]}" \
            --max-per-class 38000 --epochs "$2" --patience "$3" --seed 0
    }
    # the graph and image networks train at a few hundred jets/s on 2 cores: fewer epochs
    train particlenet_lite 10 3
    train pfn 60 8
    train topodnn 60 8
    train efn 60 8
    train deeptop_cnn 10 3
fi

if [[ $step == evaluate || $step == all ]]; then
    hepml-coffea evaluate --plugins cutbased,substructure_dnn,topodnn,efn,pfn,deeptop_cnn,particlenet_lite \
        --signal "$SIGNAL_TEST" --background "$BACKGROUND_TEST" --max-per-class 50000 \
        --output-dir docs/taggers
fi
