# One image for every canbridge Python service; compose picks the command.
# The base image is a build argument: users get a current slim Python by
# default; `PYTHON_IMAGE=python:3.11-slim-bookworm` works as well (3.11+).
ARG PYTHON_IMAGE=python:3.13-slim-bookworm
FROM ${PYTHON_IMAGE}

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY shared ./shared
COPY services ./services
COPY mosquitto ./mosquitto
# served by the api under /guide (the dashboard links to them)
COPY docs ./docs
# the CC BY 4.0 load/PV traces the meter simulator replays (credits inside)
COPY bench/__init__.py ./bench/__init__.py
COPY bench/data ./bench/data
RUN pip install --constraint constraints.txt --editable . \
 && useradd --system --uid 10001 --user-group --no-create-home canbridge \
 && install -d -o 10001 -g 10001 /data

USER 10001
CMD ["python", "-m", "services.api"]
