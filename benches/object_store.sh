#!/usr/bin/env bash
# Converting to object storage against converting to disk, per profile: time and peak
# RSS of the same conversion into a dataset directory and into s3:// on a local
# S3-compatible server (moto, started here on 127.0.0.1). Uploads go part by part as
# row groups are written, so memory should stay within a few parts of the disk run's.
#   WORK=DIR SIZE=1GiB RUNS=3 PROFILES="web api" benches/object_store.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/setup.sh
need moto_server "python3 -m pip install 'moto[server]'"

PORT="${PORT:-5180}"
moto_server -H 127.0.0.1 -p "$PORT" >/dev/null 2>&1 &
MOTO=$!
trap 'kill $MOTO 2>/dev/null' EXIT
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_ALLOW_HTTP=true
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.2; done
python3 -c "import boto3; boto3.client('s3', endpoint_url='$AWS_ENDPOINT_URL').create_bucket(Bucket='bench')"

for profile in $PROFILES; do
    log=$(generated_log "$profile")
    announce "$profile" "$log"
    printf '%-8s %9s %10s\n' target "median s" "peak RSS"
    read -r t r < <(disk_conversion "$profile" "$log")
    printf '%-8s %9s %6s MiB\n' disk "$t" "$r"
    disk_rss=$r
    read -r t r < <(measure bash -c "exec '$HALAKE' convert '$log' -o \"s3://bench/$profile-\$RANDOM\$RANDOM/\" -q")
    printf '%-8s %9s %6s MiB   (%+d%% of the disk run'"'"'s peak)\n' s3 "$t" "$r" $(( (r - disk_rss) * 100 / disk_rss ))
done
