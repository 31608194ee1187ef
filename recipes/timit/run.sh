#!/usr/bin/env bash
# TIMIT phone recognition with a learnable front-end: log-mel and MFCC, each fixed and with a learnable K-matrix
# in place of the FFT (fbank, kaleido_fbank, mfcc, kaleido_mfcc), several seeds, paired statistics.
#
#   recipes/timit/run.sh                               # the main job: see --help for what it runs
#   recipes/timit/run.sh --epochs "" --seeds "1 2 3 4 5"   # the full setting: the configs' 15 epochs, 5 seeds
#   recipes/timit/run.sh --timit /path/to/TIMIT --device cuda
#   recipes/timit/run.sh --stage 3 --stop_stage 5      # decode, score and report again
#
# Stages (each writes the files the next one reads):
#   0 corpus     --timit PATH, or generate the built-in corpus into --corpus_dir
#   1 data       manifests <data_dir>/{train,dev,test}.jsonl (test = core test)
#   2 train      <exp_dir>/<frontend>_seed<seed>/ {config.yaml, init.pt, last.pt, best.pt, log.csv, train.log}
#                runs in the background write status.txt there; each epoch one console line shows them all
#   3 decode     <exp_dir>/<run>/decode_{dev,test}/hyp.txt with best.pt, decode_test_init/ with init.pt
#   4 score      <exp_dir>/<run>/decode_*/{per.json, alignments.txt}  (PER on 39 phones, S/D/I)
#   5 report     <exp_dir>/RESULTS.md (with the paired differences) and <exp_dir>/plots/*.png
set -euo pipefail

recipe_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$recipe_dir/../.." && pwd)"

# ---- options (defaults) -----------------------------------------------------------------------------------
stage=0
stop_stage=5
timit=""                     # a TIMIT copy; empty: generate the built-in corpus
condition="standard"         # the built-in corpus's condition: standard or hard
corpus_dir=""                # where the built-in corpus is generated [recipes/timit/corpus, corpus_hard for hard]
corpus_opts=""               # extra flags for local/make_mini_timit.py (e.g. "--tiny")
data_dir=""                  # [recipes/timit/data, data_hard for the hard condition]
exp_dir=""                   # [recipes/timit/exp, exp_hard for the hard condition]
config=""                    # config file; "{frontend}" is replaced by each front-end's name
frontends="fbank kaleido_fbank mfcc"  # + kaleido_mfcc (learnable MFCC): all four
seeds="1 2 3"
epochs="7"                   # training epochs of every run (the main job's trade); "": the config's
device="cpu"                 # cpu or cuda
nproc=1                      # processes per training run (torchrun --nproc_per_node); >1: DistributedDataParallel
torchrun_opts=""             # torchrun options instead of "--standalone --nproc_per_node N" (e.g. multi-node)
nj=""                        # training runs at once; default 2 on CPU (each gets half the cores), else 1
overrides=""                 # config overrides for every run, e.g. "train.epochs=2 optim.lr=1e-3"
setup_env=true               # create/check the virtual environment with tools/setup_env.sh

usage() {
    cat <<EOF
Usage: $0 [options]

Trains a CTC phone recognizer on TIMIT (or the built-in synthetic corpus) once per front-end and seed, decodes
dev and core test with the checkpoint of lowest dev PER, scores on 39 phones and writes a results table with
each learnable front-end's paired difference from its fixed twin and from the best fixed front-end.

Without options (the main job, under 20 minutes on 2 CPU cores): the built-in corpus, fixed and learnable
log-mel and fixed MFCC, seeds 1 2 3, $epochs epochs per run instead of the configs' 15 (the trade that keeps it
within that time; recipes/timit/README.md compares it with the full setting). Add the learnable MFCC with
--frontends "fbank kaleido_fbank mfcc kaleido_mfcc".

Options (default in brackets):
  --stage N           first stage to run, 0..5 [$stage]
  --stop_stage N      last stage to run [$stop_stage]
  --timit PATH        a TIMIT copy (folder holding TRAIN and TEST, any case, SPHERE or RIFF audio);
                      without it the built-in corpus is generated (needs espeak-ng and sox) [none]
  --condition NAME    the built-in corpus's condition: standard, or hard (simulated rooms, babble, telephone
                      lines, speed perturbation, more voices) [$condition]
  --corpus_dir DIR    where the built-in corpus is generated [recipes/timit/corpus; corpus_hard for hard]
  --corpus_opts STR   extra flags for local/make_mini_timit.py, e.g. "--tiny" [$corpus_opts]
  --data_dir DIR      manifests [recipes/timit/data; data_hard for hard]
  --exp_dir DIR       experiments, results table and plots [recipes/timit/exp; exp_hard for hard]
  --config FILE       training config; {frontend} is replaced by the front-end name
                      [conf/mini_{frontend}.yaml for the built-in corpus, conf/timit_{frontend}.yaml with --timit]
  --frontends LIST    front-ends to compare, space-separated, each with its conf/<set>_<name>.yaml: fbank,
                      kaleido_fbank (log-mel), mfcc, kaleido_mfcc (MFCC); more in conf/ [$frontends]
  --seeds LIST        seeds, space-separated [$seeds]
  --epochs N          training epochs of every run; "" keeps each config's own (15 on the built-in corpus,
                      40 on TIMIT) [$epochs on the built-in corpus; the config's with --timit]
  --device DEV        cpu or cuda [$device]
  --nproc N           processes per training run, data parallel under torchrun [$nproc]
  --torchrun_opts STR torchrun options for several machines, replacing "--standalone --nproc_per_node N", e.g.
                      "--nnodes 2 --node_rank 0 --nproc_per_node 8 --rdzv_backend c10d --rdzv_endpoint host:29400"
  --nj N              training runs at once, each with its share of the CPU cores [2 on CPU, else 1]
  --overrides STR     config overrides for every run, e.g. "train.epochs=2 data.batch_seconds=30" [none]
  --setup_env BOOL    create/check the virtual environment first (tools/setup_env.sh); false: use the
                      interpreter in \$PYTHON, else python3 [$setup_env]
  -h, --help          this help
EOF
}

abspath() { [[ "$1" = /* ]] && echo "$1" || echo "$PWD/$1"; }
epochs_given=false
while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --*=*) key="${1%%=*}"; val="${1#*=}"; shift ;;
        --*) key="$1"; [[ $# -ge 2 ]] || { echo "$0: option $1 needs a value" >&2; exit 2; }; val="$2"; shift 2 ;;
        *) echo "$0: unexpected argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    name="${key#--}"
    case "$name" in
        stage|stop_stage|frontends|seeds|device|nproc|nj|overrides|setup_env|corpus_opts|torchrun_opts|condition|epochs)
            printf -v "$name" '%s' "$val"
            [[ "$name" != epochs ]] || epochs_given=true ;;
        timit|corpus_dir|data_dir|exp_dir|config) printf -v "$name" '%s' "$(abspath "$val")" ;;
        *) echo "$0: unknown option --$name (see --help)" >&2; exit 2 ;;
    esac
done

case "$condition" in
    standard) suffix="" ;;
    hard) suffix="_hard" ;;
    *) echo "$0: --condition must be standard or hard, got '$condition'" >&2; exit 2 ;;
esac
[[ -n "$corpus_dir" ]] || corpus_dir="$recipe_dir/corpus$suffix"
[[ -n "$data_dir" ]] || data_dir="$recipe_dir/data$suffix"
[[ -n "$exp_dir" ]] || exp_dir="$recipe_dir/exp$suffix"
# The epochs are the built-in corpus's main job's trade; a TIMIT run keeps its config's unless asked otherwise.
[[ -z "$timit" || $epochs_given == true ]] || epochs=""
if [[ -n "$epochs" ]]; then
    [[ "$epochs" =~ ^[1-9][0-9]*$ ]] || { echo "$0: --epochs must be a positive integer or \"\", got '$epochs'" >&2; exit 2; }
    overrides="train.epochs=$epochs $overrides"  # given overrides come after, so they win
fi

log() { echo "[$(date +%H:%M:%S)] $*"; }
t_start=$(date +%s)

# ---- environment ------------------------------------------------------------------------------------------
if [[ "$setup_env" == true ]]; then
    venv="$("$root/tools/setup_env.sh")"
    python="$venv/bin/python"
else
    python="${PYTHON:-python3}"
fi
local_dir="$recipe_dir/local"
if [[ -z "$config" ]]; then
    config_set=mini
    [[ -z "$timit" ]] || config_set=timit
    config="$recipe_dir/conf/${config_set}_{frontend}.yaml"
fi
config_for() { echo "${config//\{frontend\}/$1}"; }
for fe in $frontends; do
    [[ -f "$(config_for "$fe")" ]] || { echo "$0: config $(config_for "$fe") does not exist" >&2; exit 1; }
done
corpus="${timit:-$corpus_dir}"
# The run folders' names (<frontend>_seed<seed>) come from kfront/asr/layout.py, where decoding, scoring and the
# report parse them back: one "<frontend> <seed> <folder>" line per run, asked only when a stage needs them.
run_fes=() run_seeds=() runs=()
if [[ $stage -le 5 && $stop_stage -ge 2 ]]; then
    # shellcheck disable=SC2086  # lists
    listing="$("$python" -m kfront.asr run-dirs --frontends $frontends --seeds $seeds)"
    while read -r fe seed name; do
        run_fes+=("$fe") run_seeds+=("$seed") runs+=("$exp_dir/$name")
    done <<< "$listing"
fi

# ---- 0: corpus --------------------------------------------------------------------------------------------
if [[ $stage -le 0 && $stop_stage -ge 0 ]]; then
    if [[ -n "$timit" ]]; then
        log "stage 0: using the TIMIT copy at $timit"
        [[ -d "$timit" ]] || { echo "$0: --timit $timit does not exist" >&2; exit 1; }
    else
        # The generator does nothing when a complete corpus with the same settings is already there.
        log "stage 0: built-in corpus ($condition condition) in $corpus_dir"
        "$root/tools/system_deps.sh"
        condition_opt=()
        [[ "$condition" == standard ]] || condition_opt=(--condition "$condition")
        # shellcheck disable=SC2086  # corpus_opts holds several flags
        "$python" "$local_dir/make_mini_timit.py" "${condition_opt[@]}" $corpus_opts "$corpus_dir"
    fi
fi

# ---- 1: data preparation ----------------------------------------------------------------------------------
if [[ $stage -le 1 && $stop_stage -ge 1 ]]; then
    log "stage 1: manifests in $data_dir"
    "$python" "$local_dir/prepare_data.py" --timit "$corpus" --out "$data_dir"
fi

# ---- 2: training ------------------------------------------------------------------------------------------
train_one() {  # frontend seed folder
    local fe="$1" seed="$2" dir="$3"
    local launcher=("$python")
    if [[ -n "$torchrun_opts" ]]; then
        # shellcheck disable=SC2206  # several options
        launcher=("$python" -m torch.distributed.run $torchrun_opts)
    elif [[ $nproc -gt 1 ]]; then
        launcher=("$python" -m torch.distributed.run --standalone --nproc_per_node "$nproc")
    fi
    # shellcheck disable=SC2086  # overrides holds several key=value items
    "${launcher[@]}" "$local_dir/train.py" --config "$(config_for "$fe")" --exp_dir "$dir" --resume \
        data.dir="$data_dir" train.seed="$seed" train.device="$device" $overrides
}
if [[ $stage -le 2 && $stop_stage -ge 2 ]]; then
    log "stage 2: training front-ends [$frontends] x seeds [$seeds] in $exp_dir"
    # Small recurrent layers use a second CPU core poorly: two runs side by side, one core each, finish sooner
    # than one after the other with two cores each.
    [[ -n "$nj" ]] || { if [[ "$device" == cpu && $nproc -le 1 && -z "$torchrun_opts" ]]; then nj=2; else nj=1; fi; }
    if [[ "$device" == cpu ]]; then
        overrides="train.num_threads=$(( ($(nproc) + nj - 1) / nj )) $overrides"
    fi
    pids=() dirs=() last_status=""
    show_status() {  # the runs in the background on one line, printed when one of them has moved on
        local line="" d status written=false
        for d in "${dirs[@]}"; do
            status="launching"
            if [[ -f "$d/status.txt" ]]; then status="$(< "$d/status.txt")"; written=true; fi  # replaced whole
            line+="${line:+ | }${d##*/}: $status"
        done
        if [[ $written == true && "$line" != "$last_status" ]]; then log "$line"; last_status="$line"; fi
    }
    finish_oldest() {
        # Only this shell writes to the console; the trainers write to their logs and to status.txt.
        while kill -0 "${pids[0]}" 2>/dev/null; do show_status; sleep 1; done
        if ! wait "${pids[0]}"; then
            echo "$0: training failed; see ${dirs[0]}/train.log" >&2
            tail -n 5 "${dirs[0]}/train.log" >&2
            kill "${pids[@]:1}" 2>/dev/null || true  # the other runs resume next time
            exit 1
        fi
        show_status
        tail -n 1 "${dirs[0]}/train.log"
        pids=("${pids[@]:1}") dirs=("${dirs[@]:1}")
    }
    for i in "${!runs[@]}"; do
        fe="${run_fes[$i]}" seed="${run_seeds[$i]}" dir="${runs[$i]}"
        mkdir -p "$dir"
        if [[ $nj -le 1 ]]; then
            log "training $fe, seed $seed (log: $dir/train.log)"
            train_one "$fe" "$seed" "$dir" 2>&1 | tee "$dir/train.log"
        else
            [[ ${#pids[@]} -lt $nj ]] || finish_oldest
            log "training $fe, seed $seed in the background (log: $dir/train.log)"
            train_one "$fe" "$seed" "$dir" > "$dir/train.log" 2>&1 &
            pids+=($!) dirs+=("$dir")
        fi
    done
    while [[ ${#pids[@]} -gt 0 ]]; do finish_oldest; done
fi

# ---- 3: decoding ------------------------------------------------------------------------------------------
if [[ $stage -le 3 && $stop_stage -ge 3 ]]; then
    log "stage 3: decoding dev and core test (best dev PER checkpoint), and core test untrained"
    "$python" "$local_dir/decode.py" --exp_dirs "${runs[@]}" --data_dir "$data_dir" --splits dev test --device "$device"
    "$python" "$local_dir/decode.py" --exp_dirs "${runs[@]}" --data_dir "$data_dir" --splits test --device "$device" \
        --checkpoint init.pt --tag init
fi

# ---- 4: scoring -------------------------------------------------------------------------------------------
if [[ $stage -le 4 && $stop_stage -ge 4 ]]; then
    log "stage 4: scoring on 39 phones"
    "$python" "$local_dir/score.py" --exp_dirs "${runs[@]}" --data_dir "$data_dir"
fi

# ---- 5: report --------------------------------------------------------------------------------------------
if [[ $stage -le 5 && $stop_stage -ge 5 ]]; then
    log "stage 5: results table and plots"
    # shellcheck disable=SC2086  # lists
    corpus_name="built-in corpus"
    [[ "$condition" == standard ]] || corpus_name="built-in corpus, $condition condition"
    [[ -z "$timit" ]] || corpus_name="TIMIT"
    "$python" "$local_dir/report.py" --exp_dir "$exp_dir" --out "$exp_dir/RESULTS.md" --frontends $frontends \
        --seeds $seeds --title "TIMIT phone recognition ($corpus_name)"
fi
log "done in $(( $(date +%s) - t_start )) s"
