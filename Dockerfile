# syntax=docker/dockerfile:1
# Build stage: resolve the locked dependencies and the project into a virtualenv.
FROM python:3.11-slim AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /src
COPY requirements/runtime.txt ./requirements/
RUN uv venv /opt/venv && uv pip install --python /opt/venv/bin/python --require-hashes -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY src ./src
COPY examples ./examples
RUN uv pip install --python /opt/venv/bin/python --no-deps --no-build-isolation .

# Runtime stage: the virtualenv only, run by an unprivileged user.
FROM python:3.11-slim AS runtime
RUN useradd --system --uid 10001 --home-dir /app --create-home dbanalysis
COPY --from=build /opt/venv /opt/venv
ENV PATH="/opt/venv/bin:$PATH" PYTHONUNBUFFERED=1
WORKDIR /app
USER dbanalysis
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/live')"
CMD ["dbanalysis", "api", "--host", "0.0.0.0", "--port", "8000"]
