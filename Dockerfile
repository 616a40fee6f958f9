# The operator image. Built where a container engine exists (not on the development machine, which has none).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator ./operator
# operator/statuswatch/manifests links to config/ (CRD, RBAC, samples shipped as package data)
COPY config ./config
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --uid 10001 --no-create-home statuswatch
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER 10001
ENTRYPOINT ["statuswatch"]
CMD ["run", "--all-namespaces"]
