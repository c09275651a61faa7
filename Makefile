# zoo_tools: `make demo` runs the demo, `make test` runs the tests. Both create .venv if missing
# and install into it: torch first (TORCH_SPEC; default a CPU build, e.g.
# `make TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu124" demo` for a GPU),
# then this package with its dev extra.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.zoo_installed
DEMO_OUT ?= demo_out

.PHONY: install demo test lint docs bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	# bpnet-lite without its deps: its `modisco` would replace modisco-lite's `modiscolite`
	$(BIN)/python -m pip install --quiet --no-deps "bpnet-lite==1.1.0"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/zoo demo-data $(DEMO_OUT)/world --seed 0
	$(BIN)/zoo check-data $(DEMO_OUT)/world/data.yaml
	$(BIN)/zoo info demo:base --max-tasks 5
	$(BIN)/zoo predict demo:base --genome $(DEMO_OUT)/world/genome.fa \
		--regions $(DEMO_OUT)/world/peaks/cellA_ATAC.narrowPeak --tasks CTCF GATA --out $(DEMO_OUT)/predictions.h5
	$(BIN)/zoo finetune recipes/multitask_encode.yaml --out $(DEMO_OUT)/finetune \
		--set data=$(DEMO_OUT)/world/data.yaml
	$(BIN)/zoo info local:$(DEMO_OUT)/finetune --max-tasks 6
	$(BIN)/zoo score-variants --model local:$(DEMO_OUT)/finetune --vcf $(DEMO_OUT)/world/variants.vcf \
		--genome $(DEMO_OUT)/world/genome.fa --out $(DEMO_OUT)/variant_scores.tsv.gz
	$(BIN)/zoo calibrate --model local:$(DEMO_OUT)/finetune --genome $(DEMO_OUT)/world/genome.fa \
		--random 3000 --seed 1 --out $(DEMO_OUT)/calibration.parquet
	$(BIN)/zoo score-variants --model local:$(DEMO_OUT)/finetune --vcf $(DEMO_OUT)/world/variants.vcf \
		--genome $(DEMO_OUT)/world/genome.fa --calibration $(DEMO_OUT)/calibration.parquet --fdr 0.1 \
		--out $(DEMO_OUT)/variant_scores_calibrated.tsv.gz
	$(BIN)/zoo score-variants --model local:$(DEMO_OUT)/finetune --vcf $(DEMO_OUT)/world/haplotypes.vcf \
		--genome $(DEMO_OUT)/world/genome.fa --haplotypes --out $(DEMO_OUT)/haplotype_scores.tsv.gz
	$(BIN)/zoo finetune recipes/multitask_encode.yaml --out $(DEMO_OUT)/finetune_genes \
		--set data=$(DEMO_OUT)/world/data_genes.yaml train.freeze_trunk=true
	$(BIN)/zoo predict local:$(DEMO_OUT)/finetune_genes --genome $(DEMO_OUT)/world/genome.fa \
		--genes $(DEMO_OUT)/world/genes.gtf --tasks CAGE RNA --out $(DEMO_OUT)/gene_predictions.tsv
	$(BIN)/zoo score-variants --model local:$(DEMO_OUT)/finetune_genes --vcf $(DEMO_OUT)/world/gene_variants.vcf \
		--genome $(DEMO_OUT)/world/genome.fa --genes $(DEMO_OUT)/world/genes.gtf --tasks "CAGE|RNA" \
		--out $(DEMO_OUT)/gene_scores.tsv.gz
	$(BIN)/zoo finetune recipes/siamese_allelic.yaml --out $(DEMO_OUT)/siamese \
		--set data=$(DEMO_OUT)/world/data.yaml
	$(BIN)/zoo score-variants --model local:$(DEMO_OUT)/siamese --vcf $(DEMO_OUT)/world/variants.vcf \
		--genome $(DEMO_OUT)/world/genome.fa --out $(DEMO_OUT)/variant_imbalance.vcf.gz
	$(BIN)/zoo finetune recipes/novel_celltype_atac.yaml --out $(DEMO_OUT)/novel_celltype \
		--set data=$(DEMO_OUT)/world/data.yaml
	head -n 3 $(DEMO_OUT)/world/peaks/cellA_ATAC.narrowPeak > $(DEMO_OUT)/ism_peaks.narrowPeak
	$(BIN)/zoo interpret ism --model local:$(DEMO_OUT)/finetune --genome $(DEMO_OUT)/world/genome.fa \
		--regions $(DEMO_OUT)/ism_peaks.narrowPeak --tasks cellA_ATAC --bigwig --out $(DEMO_OUT)/interpret/ism
	$(BIN)/zoo interpret marginalize --model local:$(DEMO_OUT)/finetune --genome $(DEMO_OUT)/world/genome.fa \
		--motif C027:CEBP:bZIP --out $(DEMO_OUT)/interpret/marginalize_CEBP
	$(BIN)/zoo interpret modisco --model local:$(DEMO_OUT)/finetune --genome $(DEMO_OUT)/world/genome.fa \
		--peaks $(DEMO_OUT)/world/peaks/*.narrowPeak --out $(DEMO_OUT)/interpret/modisco
	$(BIN)/zoo report $(DEMO_OUT) --title "zoo_tools demo"

# tests and notebooks share one model cache (the demo model is built once)
ZOO_CACHE ?= $(CURDIR)/.zoo_home

# two pytest-xdist workers (one per core; each test file stays on one worker, so its module
# fixtures are built once), one torch thread each; TEST_WORKERS=0 runs serially
TEST_WORKERS ?= 2

test: $(STAMP)
	ZOO_TEST_HOME=$(ZOO_CACHE) ZOO_HOME=$(ZOO_CACHE) PATH=$(CURDIR)/$(BIN):$$PATH OMP_NUM_THREADS=1 \
		$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=30 tests notebooks \
		--nbmake --nbmake-timeout=600

# ruff (rules and formatting, as in pyproject.toml) and the import contracts ([tool.importlinter])
lint: $(STAMP)
	$(BIN)/ruff check zoo_tools tests benchmarks
	$(BIN)/ruff format --check zoo_tools tests benchmarks
	$(BIN)/lint-imports --no-logo

# API reference (pdoc, offline) into docs/api; any pdoc warning fails the build
docs: $(STAMP)
	$(BIN)/python docs/build_api.py docs/api

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_tracks.py
	$(BIN)/python benchmarks/bench_dataset.py
	$(BIN)/python benchmarks/bench_zoo.py
	$(BIN)/python benchmarks/bench_finetune.py
	$(BIN)/python benchmarks/bench_score.py
	$(BIN)/python benchmarks/bench_ism.py
	$(BIN)/python benchmarks/bench_vcf.py

clean:
	rm -rf $(DEMO_OUT) bench_out .pytest_cache notebooks/nb_out .zoo_home
