#!/bin/sh
# The developer guide's "Getting started (AWS CLI)", command by command:
# bucket, policy and upload with `aws s3`, then dataset group, schema,
# dataset, import job, solution, solution version, metrics, campaign and
# recommendations with `aws personalize` / `aws personalize-runtime`; each
# resource is described until ACTIVE, as the guide asks before the next
# step (its "wait" between commands is a describe loop here, 0.6 s apart).
# Then the guide's CLI pages for recording events, filtering
# recommendations, batch inference, dataset export and deleting resources,
# on the same dataset group.
# The last line is `COMPAT-RESULT {...}` like the Python programs'.
set -u
cd "${COMPAT_WORKDIR:-.}"
exec 3>&1 # the result line goes out even from inside $(...)
step=""
fail() {
  printf 'COMPAT-RESULT {"ok": false, "operation": "%s", "code": "CLI", "message": "%s"}\n' "$step" "$1" >&3
  exit 1
}
run() { # run STEP aws-args... : prints stdout, fails the program on a non-zero exit
  step=$1; shift
  out=$(aws --output text "$@" 2>err.txt) || fail "$(tr '\n"' '  ' <err.txt | cut -c1-300)"
  printf '%s\n' "$out"
}
wait_active() { # wait_active STEP describe-command --arn-option ARN --query MEMBER.status
  s=$1; shift
  step=$s
  i=0
  while [ $i -lt 300 ]; do
    status=$(run "$s" personalize "$@") || exit 1
    case $status in
      ACTIVE) return 0 ;;
      *FAILED) fail "$s ended $status: $(aws --output text personalize "$1" "$2" "$3" --query '*.failureReason')" ;;
    esac
    sleep 0.6; i=$((i + 1))
  done
  fail "$s did not become ACTIVE"
}

python3 -c "
import sys; sys.path.insert(0, '$(dirname "$0")')
import compat
m, r = compat.movielens(seed=61)
rows = [dict(USER_ID=x['userId'], ITEM_ID=x['movieId'], TIMESTAMP=x['timestamp'], EVENT_TYPE='click') for x in r if x['rating'] > 1]
rows += [dict(USER_ID=x['userId'], ITEM_ID=x['movieId'], TIMESTAMP=x['timestamp'], EVENT_TYPE='watch') for x in r if x['rating'] > 3]
compat.write_frame('movie-ratings.csv', rows, ['USER_ID', 'ITEM_ID', 'EVENT_TYPE', 'TIMESTAMP'])
" || fail "data"

bucket=123456789012-us-east-1-personalize-cli
cat > policy.json <<JSON
{"Version": "2012-10-17", "Id": "PersonalizeS3BucketAccessPolicy",
 "Statement": [{"Sid": "PersonalizeS3BucketAccessPolicy", "Effect": "Allow",
   "Principal": {"Service": "personalize.amazonaws.com"}, "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
   "Resource": ["arn:aws:s3:::$bucket", "arn:aws:s3:::$bucket/*"]}]}
JSON
cat > MovieRatingSchema.json <<JSON
{"type": "record", "name": "Interactions", "namespace": "com.amazonaws.personalize.schema",
 "fields": [{"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"},
            {"name": "EVENT_TYPE", "type": "string"}, {"name": "TIMESTAMP", "type": "long"}],
 "version": "1.0"}
JSON
run s3.mb s3 mb "s3://$bucket" >/dev/null || exit 1
run s3api.put-bucket-policy s3api put-bucket-policy --bucket "$bucket" --policy file://policy.json || exit 1
run s3.cp s3 cp movie-ratings.csv "s3://$bucket/movie-ratings.csv" >/dev/null || exit 1

dsg=$(run create-dataset-group personalize create-dataset-group --name MovieRatingDatasetGroup \
  --query datasetGroupArn) || exit 1
wait_active describe-dataset-group describe-dataset-group --dataset-group-arn "$dsg" --query datasetGroup.status || exit 1
schema=$(run create-schema personalize create-schema --name MovieRatingSchema \
  --schema file://MovieRatingSchema.json --query schemaArn) || exit 1
dataset=$(run create-dataset personalize create-dataset --name MovieRatingDataset --dataset-group-arn "$dsg" \
  --dataset-type Interactions --schema-arn "$schema" --query datasetArn) || exit 1
job=$(run create-dataset-import-job personalize create-dataset-import-job --job-name MovieRatingImportJob \
  --dataset-arn "$dataset" --data-source "dataLocation=s3://$bucket/movie-ratings.csv" \
  --role-arn arn:aws:iam::123456789012:role/PersonalizeCompatRole --query datasetImportJobArn) || exit 1
wait_active describe-dataset-import-job describe-dataset-import-job --dataset-import-job-arn "$job" \
  --query datasetImportJob.status || exit 1
run list-recipes personalize list-recipes --query 'recipes[].recipeArn' >/dev/null || exit 1
solution=$(run create-solution personalize create-solution --name MovieSolution --dataset-group-arn "$dsg" \
  --recipe-arn arn:aws:personalize:::recipe/aws-user-personalization --query solutionArn) || exit 1
version=$(run create-solution-version personalize create-solution-version --solution-arn "$solution" \
  --query solutionVersionArn) || exit 1
wait_active describe-solution-version describe-solution-version --solution-version-arn "$version" \
  --query solutionVersion.status || exit 1
run get-solution-metrics personalize get-solution-metrics --solution-version-arn "$version" >/dev/null || exit 1
campaign=$(run create-campaign personalize create-campaign --name MovieRecommendationCampaign \
  --solution-version-arn "$version" --min-provisioned-tps 1 --query campaignArn) || exit 1
wait_active describe-campaign describe-campaign --campaign-arn "$campaign" --query campaign.status || exit 1
items=$(run get-recommendations personalize-runtime get-recommendations --campaign-arn "$campaign" \
  --user-id 12 --query 'itemList[].itemId') || exit 1
[ -n "$items" ] || fail "no recommendations"
echo "$items"

# "Recording events (AWS CLI)": a tracker, then an event.
tracking=$(run create-event-tracker personalize create-event-tracker --name MovieClickTracker \
  --dataset-group-arn "$dsg" --query trackingId) || exit 1
tracker=$(run list-event-trackers personalize list-event-trackers --dataset-group-arn "$dsg" \
  --query 'eventTrackers[0].eventTrackerArn') || exit 1
run put-events personalize-events put-events --tracking-id "$tracking" --user-id 12 --session-id s-12 \
  --event-list '[{"eventType": "watch", "sentAt": 1700000000, "properties": "{\"itemId\": \"7\"}"}]' || exit 1

# "Filtering recommendations (AWS CLI)": a filter with a placeholder, used
# with --filter-values.
filter=$(run create-filter personalize create-filter --name MovieNotRatedBy --dataset-group-arn "$dsg" \
  --filter-expression 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ($EVENT_TYPE)' \
  --query filterArn) || exit 1
wait_active describe-filter describe-filter --filter-arn "$filter" --query filter.status || exit 1
run get-recommendations personalize-runtime get-recommendations --campaign-arn "$campaign" --user-id 12 \
  --filter-arn "$filter" --filter-values '{"EVENT_TYPE": "\"click\""}' --query 'itemList[].itemId' >/dev/null || exit 1

# "Creating a batch inference job (AWS CLI)": JSON Lines of users in, the
# output read back from the bucket; "Creating a dataset export job (AWS
# CLI)": the interactions written to the bucket as CSV.
printf '{"userId": "12"}\n{"userId": "40"}\n' > batch-users.json
run s3.cp s3 cp batch-users.json "s3://$bucket/batch/in/users.json" >/dev/null || exit 1
batch=$(run create-batch-inference-job personalize create-batch-inference-job --job-name MovieBatchJob \
  --solution-version-arn "$version" --num-results 10 \
  --job-input "s3DataSource={path=s3://$bucket/batch/in/users.json}" \
  --job-output "s3DataDestination={path=s3://$bucket/batch/out/}" \
  --role-arn arn:aws:iam::123456789012:role/PersonalizeCompatRole \
  --batch-inference-job-config '{"itemExplorationConfig": {"explorationWeight": "0.3", "explorationItemAgeCutOff": "30"}}' \
  --query batchInferenceJobArn) || exit 1
wait_active describe-batch-inference-job describe-batch-inference-job --batch-inference-job-arn "$batch" \
  --query batchInferenceJob.status || exit 1
run s3.cp s3 cp "s3://$bucket/batch/out/users.json.out" batch-out.json >/dev/null || exit 1
grep -q '"recommendedItems"' batch-out.json || fail "batch output without recommendedItems: $(head -c 200 batch-out.json)"
[ "$(grep -c userId batch-out.json)" = 2 ] || fail "batch output lines: $(wc -l <batch-out.json)"
export_job=$(run create-dataset-export-job personalize create-dataset-export-job --job-name MovieExport \
  --dataset-arn "$dataset" --role-arn arn:aws:iam::123456789012:role/PersonalizeCompatRole \
  --job-output "{\"s3DataDestination\": {\"path\": \"s3://$bucket/export/\"}}" \
  --query datasetExportJobArn) || exit 1
wait_active describe-dataset-export-job describe-dataset-export-job --dataset-export-job-arn "$export_job" \
  --query datasetExportJob.status || exit 1
keys=$(run s3.ls s3 ls --recursive "s3://$bucket/export/") || exit 1
case $keys in *.csv*) ;; *) fail "export wrote no CSV: $keys" ;; esac

# Deleting resources (AWS CLI), dependants first; each deletion is described
# until the resource is gone before the next.
gone() { # gone STEP describe-command --arn-option ARN
  s=$1; shift
  i=0
  while [ $i -lt 300 ]; do
    aws personalize "$@" >/dev/null 2>err.txt || {
      grep -q ResourceNotFoundException err.txt && return 0
      fail "$s: $(tr '\n"' '  ' <err.txt | cut -c1-200)"
    }
    sleep 0.6; i=$((i + 1))
  done
  fail "$s: still there"
}
run delete-campaign personalize delete-campaign --campaign-arn "$campaign" || exit 1
gone describe-campaign describe-campaign --campaign-arn "$campaign" || exit 1
run delete-solution personalize delete-solution --solution-arn "$solution" || exit 1
gone describe-solution describe-solution --solution-arn "$solution" || exit 1
run delete-event-tracker personalize delete-event-tracker --event-tracker-arn "$tracker" || exit 1
gone describe-event-tracker describe-event-tracker --event-tracker-arn "$tracker" || exit 1
run delete-filter personalize delete-filter --filter-arn "$filter" || exit 1
gone describe-filter describe-filter --filter-arn "$filter" || exit 1
run delete-dataset personalize delete-dataset --dataset-arn "$dataset" || exit 1
gone describe-dataset describe-dataset --dataset-arn "$dataset" || exit 1
run delete-schema personalize delete-schema --schema-arn "$schema" || exit 1
run delete-dataset-group personalize delete-dataset-group --dataset-group-arn "$dsg" || exit 1
gone describe-dataset-group describe-dataset-group --dataset-group-arn "$dsg" || exit 1
echo 'COMPAT-RESULT {"ok": true}'
