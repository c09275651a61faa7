# zoo_tools in a container: `docker build -t zoo_tools .` then `docker run --rm -v $PWD:/data zoo_tools --help`.
# The dependency layer mirrors pyproject.toml (tests/test_packaging.py checks it) so that it is
# cached across source changes.
FROM python:3.11-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential zlib1g-dev libbz2-dev liblzma-dev libcurl4-openssl-dev \
    && rm -rf /var/lib/apt/lists/*

# CPU build of torch by default; `--build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu124` for CUDA.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
RUN pip install --no-cache-dir --index-url ${TORCH_INDEX} "torch>=2.2,<2.15"

RUN pip install --no-cache-dir \
    "grelu>=1.1.0,<1.2" \
    "kipoi>=0.8.6,<0.9" \
    "six>=1.16" \
    "enformer-pytorch>=0.8.12,<0.9" \
    "borzoi-pytorch>=0.4.2,<0.5" \
    "huggingface-hub>=0.20,<1" \
    "h5py>=3.8,<4" \
    "lightning>=2.4,<2.7" \
    "pyBigWig>=0.3.22,<0.4" \
    "pybigtools>=0.3,<0.4" \
    "pyfaidx>=0.8.1,<0.10" \
    "cyvcf2>=0.31,<0.36" \
    "gtfparse>=3.0.5,<4" \
    "pandas>=2.0,<3" \
    "numpy>=1.26,<3" \
    "scipy>=1.11,<2" \
    "tangermeme>=1.6,<1.7" \
    "modisco-lite==3.0.0" \
    "pydantic>=2.5,<3" \
    "pyyaml>=6,<7" \
    "tqdm>=4.66,<5" \
    "matplotlib>=3.8,<4" \
    "pyarrow>=14,<27"

# bpnet-lite without its dependencies: its `modisco` would replace modisco-lite's `modiscolite`
RUN pip install --no-cache-dir --no-deps "bpnet-lite==1.1.0"

WORKDIR /opt/zoo_tools
COPY pyproject.toml README.md ./
COPY zoo_tools ./zoo_tools
COPY configs ./configs
COPY recipes ./recipes
RUN pip install --no-cache-dir --no-deps .

WORKDIR /data
ENTRYPOINT ["zoo"]
CMD ["--help"]
