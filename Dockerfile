# Journal Gateway container image.
#
#   docker build -t journal-gateway .
#   docker run -d --name journal-gateway -v journal-gateway-data:/data \
#     -p 25:2525 -p 465:4465 -p 110:1110 -p 995:1995 -p 143:1143 -p 993:1993 -p 8450:8450 \
#     journal-gateway
#   docker logs journal-gateway        # the console's first admin password
#   docker exec -it journal-gateway gateway mailbox list
#
# Inside the container the gateway runs as an unprivileged user on unprivileged ports;
# publish them on the host's standard ports as above. Configure with GATEWAY_*
# variables (-e) or mount a file and set GATEWAY_CONFIG (see contrib/gateway.toml);
# mount certificates read-only and set GATEWAY_TLS__CERT / GATEWAY_TLS__KEY.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# The runtime dependencies at the versions CI tested, each file checked against its
# hash (requirements.lock, made by `make lock`); then the gateway itself.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY storage ./storage
COPY gateway ./gateway
COPY web ./web
RUN pip install --no-deps . && pip check && rm -rf /src

RUN groupadd --system --gid 10001 journal-gateway \
 && useradd --system --uid 10001 --gid journal-gateway --home-dir /data \
      --shell /usr/sbin/nologin journal-gateway \
 && mkdir -p /data && chown journal-gateway:journal-gateway /data && chmod 0700 /data

ENV GATEWAY_DATA=/data \
    GATEWAY_LOG__FORMAT=json \
    GATEWAY_SMTP__LISTEN=0.0.0.0:2525 \
    GATEWAY_SMTP__SMTPS_LISTEN=0.0.0.0:4465 \
    GATEWAY_POP3__LISTEN=0.0.0.0:1110 \
    GATEWAY_POP3__POP3S_LISTEN=0.0.0.0:1995 \
    GATEWAY_IMAP__LISTEN=0.0.0.0:1143 \
    GATEWAY_IMAP__IMAPS_LISTEN=0.0.0.0:1993 \
    GATEWAY_WEB__LISTEN=0.0.0.0:8450

VOLUME ["/data"]
EXPOSE 2525 4465 1110 1995 1143 1993 8450

USER journal-gateway
WORKDIR /data

# /healthz answers while the process is up: HTTPS with the gateway's own (possibly
# self-signed) certificate, or plain HTTP when GATEWAY_WEB__PLAIN_HTTP is set; the port
# follows GATEWAY_WEB__LISTEN.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, ssl, urllib.request as u; e = os.environ.get; plain = e('GATEWAY_WEB__PLAIN_HTTP', '').lower() in ('1', 'true', 'yes', 'on'); port = e('GATEWAY_WEB__LISTEN', ':8450').rpartition(':')[2]; u.urlopen(('http' if plain else 'https') + '://127.0.0.1:' + port + '/healthz', context=ssl._create_unverified_context(), timeout=4)"]

STOPSIGNAL SIGTERM
ENTRYPOINT ["gateway"]
CMD ["serve"]
