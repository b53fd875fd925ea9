"""aws-samples next_steps/core_use_cases/batch_recommendations: a
user-personalization solution version waited for as a list of versions in
progress, a batch inference job over a JSON Lines file of three users, its
output downloaded and read (`input.userId`, `output.recommendedItems`);
then the samples' clean-up.

Data: MovieLens-like interactions in place of the Last.fm download. Left
out: the IAM role (named here) and its propagation sleep.
"""
import json
import time
from datetime import datetime

import boto3

import compat
import cleanup


def main():
    personalize = boto3.client("personalize")
    bucket_name = compat.bucket_name("personalize-batch-demo")
    movies, ratings = compat.movielens(users=90, items=200, seed=21)
    interactions = [{"USER_ID": r["userId"], "ITEM_ID": r["movieId"], "TIMESTAMP": r["timestamp"]}
                    for r in ratings]
    interactions_filename = "interactions.csv"
    compat.write_frame(compat.path(interactions_filename), interactions, ["USER_ID", "ITEM_ID", "TIMESTAMP"])

    dataset_group_arn = personalize.create_dataset_group(name="personalize-batch-recs")["datasetGroupArn"]
    compat.wait(lambda: personalize.describe_dataset_group(datasetGroupArn=dataset_group_arn), "datasetGroup")

    interactions_schema = {"type": "record", "name": "Interactions",
                           "namespace": "com.amazonaws.personalize.schema",
                           "fields": [{"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"},
                                      {"name": "TIMESTAMP", "type": "long"}],
                           "version": "1.0"}
    interaction_schema_arn = personalize.create_schema(
        name="personalize-batch-interactions-schema", schema=json.dumps(interactions_schema))["schemaArn"]
    interactions_dataset_arn = personalize.create_dataset(
        name="personalize-batch-interactions", datasetType="INTERACTIONS", datasetGroupArn=dataset_group_arn,
        schemaArn=interaction_schema_arn)["datasetArn"]

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket_name)
    boto3.Session().resource("s3").Bucket(bucket_name).Object(interactions_filename).upload_file(
        compat.path(interactions_filename))
    interactions_s3DataPath = "s3://" + bucket_name + "/" + interactions_filename
    policy = {"Version": "2012-10-17", "Id": "PersonalizeS3BucketAccessPolicy",
              "Statement": [{"Sid": "PersonalizeS3BucketAccessPolicy", "Effect": "Allow",
                             "Principal": {"Service": "personalize.amazonaws.com"},
                             "Action": ["s3:*Object", "s3:ListBucket"],
                             "Resource": ["arn:aws:s3:::{}".format(bucket_name),
                                          "arn:aws:s3:::{}/*".format(bucket_name)]}]}
    s3.put_bucket_policy(Bucket=bucket_name, Policy=json.dumps(policy))
    role_arn = compat.ROLE_ARN

    dataset_import_job_arn = personalize.create_dataset_import_job(
        jobName="personalize-batch-import1", datasetArn=interactions_dataset_arn,
        dataSource={"dataLocation": interactions_s3DataPath}, roleArn=role_arn)["datasetImportJobArn"]
    job = compat.wait(lambda: personalize.describe_dataset_import_job(datasetImportJobArn=dataset_import_job_arn),
                      "datasetImportJob")
    compat.active(job, "import")

    personalize.list_recipes()
    recipe_arn = "arn:aws:personalize:::recipe/aws-user-personalization"
    solution_arn = personalize.create_solution(
        name="personalize-batch-soln-user-personalization", datasetGroupArn=dataset_group_arn,
        recipeArn=recipe_arn)["solutionArn"]
    solution_version_arn = personalize.create_solution_version(solutionArn=solution_arn)["solutionVersionArn"]

    in_progress_solution_versions = [solution_version_arn]
    max_time = time.time() + 3 * 60 * 60
    while time.time() < max_time:
        for arn in list(in_progress_solution_versions):
            status = personalize.describe_solution_version(solutionVersionArn=arn)["solutionVersion"]["status"]
            if status == "ACTIVE":
                print("Build succeeded for {}".format(arn))
                in_progress_solution_versions.remove(arn)
            elif status == "CREATE FAILED":
                print("Build failed for {}".format(arn))
                in_progress_solution_versions.remove(arn)
        if len(in_progress_solution_versions) <= 0:
            break
        print("At least one solution build is still in progress")
        time.sleep(60)
    compat.expect(status == "ACTIVE", "solution version ended " + status)

    users = sorted({r["USER_ID"] for r in interactions}, key=int)
    batch_users = [users[3], users[30], users[60]]
    json_input_filename = "json_input.json"
    with open(compat.path(json_input_filename), "w") as json_input:
        for user_id in batch_users:
            json_input.write('{"userId": "' + str(user_id) + '"}\n')
    boto3.Session().resource("s3").Bucket(bucket_name).Object(json_input_filename).upload_file(
        compat.path(json_input_filename))
    s3_input_path = "s3://" + bucket_name + "/" + json_input_filename
    s3_output_path = "s3://" + bucket_name + "/"

    batchInferenceJobArn = personalize.create_batch_inference_job(
        solutionVersionArn=solution_version_arn, jobName="Batch-Inference-Job", roleArn=role_arn,
        jobInput={"s3DataSource": {"path": s3_input_path}},
        jobOutput={"s3DataDestination": {"path": s3_output_path}})
    batchInferenceJobArn = batchInferenceJobArn["batchInferenceJobArn"]
    print("Import Started on: ", datetime.now().strftime("%I:%M:%S %p"))
    job = compat.wait(lambda: personalize.describe_batch_inference_job(batchInferenceJobArn=batchInferenceJobArn),
                      "batchInferenceJob")
    compat.active(job, "batch inference job")

    export_name = json_input_filename + ".out"
    s3.download_file(bucket_name, export_name, compat.path(export_name))
    titles = {m["movieId"]: m["title"] for m in movies}
    columns = {}
    with open(compat.path(export_name)) as json_file:
        line = json.loads(json_file.readline())
        while line:
            col_header = "User: " + line["input"]["userId"]
            columns[col_header] = [titles[item] for item in line["output"]["recommendedItems"]]
            try:
                line = json.loads(json_file.readline())
            except ValueError:
                line = None
    compat.expect(sorted(columns) == sorted("User: " + u for u in batch_users), "users: %r" % sorted(columns))
    compat.expect(all(len(v) > 0 for v in columns.values()), "a user without recommendations")

    cleanup.delete_dataset_groups([dataset_group_arn], [], compat.REGION)


compat.run(main)
