"""aws-samples next_steps/core_use_cases/user_personalization
(user-personalization-with-contextual-recommendations): interactions with
a categorical CABIN_TYPE context and a RATING EVENT_VALUE, a Users dataset
with NATIONALITY taken from every review (so a user appears once per
review, as in the notebook's file), files uploaded under the notebook's
data directory as their S3 key, a user-personalization solution with
performHPO, a campaign with minProvisionedTPS 2, then recommendations for
each cabin type as context (the notebook's 'None' included: its
`context=='none'` test never matches, so it sends CABIN_TYPE "None").

Data: airline-review-like rows in place of the Skytrax download. Left
out: the IAM role (named here) and its sleep; the notebook keeps its
resources (no clean-up).
"""
import json
import random
import time

import boto3

import compat


def main():
    data_dir = compat.path("airlines_data")
    import os
    os.makedirs(data_dir, exist_ok=True)
    rnd = random.Random(5)
    airlines = ["airline-%02d" % i for i in range(40)]
    cabins = ["Economy", "Business Class", "Premium Economy", "First Class"]
    countries = ["Germany", "France", "Brazil", "Japan", "Kenya", "Canada"]
    reviews = []
    for u in range(120):
        author = "Author%03d" % u
        country = countries[u % len(countries)]
        for _ in range(rnd.randint(8, 20)):
            reviews.append({"USER_ID": author, "ITEM_ID": rnd.choice(airlines[:10] if u % 2 else airlines),
                            "TIMESTAMP": "%.0f" % (1400000000 + rnd.randint(0, 10 ** 7)),
                            "CABIN_TYPE": cabins[(u + rnd.randint(0, 1)) % 4], "EVENT_TYPE": "RATING",
                            "EVENT_VALUE": "%.0f" % rnd.randint(1, 10), "NATIONALITY": country})
    interactions_filename = data_dir + "/a_interactions.csv"
    compat.write_frame(interactions_filename, reviews,
                       ["ITEM_ID", "USER_ID", "TIMESTAMP", "CABIN_TYPE", "EVENT_VALUE", "EVENT_TYPE"])
    users_filename = data_dir + "/a_users.csv"
    compat.write_frame(users_filename, reviews, ["USER_ID", "NATIONALITY"])

    region = compat.REGION
    s3 = boto3.client("s3")
    suffix = "41234"
    bucket_name = "personalize-user-personalization-example" + suffix
    if region != "us-east-1":
        s3.create_bucket(Bucket=bucket_name, CreateBucketConfiguration={"LocationConstraint": region})
    else:
        s3.create_bucket(Bucket=bucket_name)
    interactions_key = "airlines_data/a_interactions.csv"
    user_metadata_file = "airlines_data/a_users.csv"
    boto3.Session().resource("s3").Bucket(bucket_name).Object(interactions_key).upload_file(interactions_filename)
    boto3.Session().resource("s3").Bucket(bucket_name).Object(user_metadata_file).upload_file(users_filename)

    personalize = boto3.client(service_name="personalize")
    personalize_runtime = boto3.client(service_name="personalize-runtime")
    dataset_group_name = "airlines-dataset-group-" + suffix
    dataset_group_arn = personalize.create_dataset_group(name=dataset_group_name)["datasetGroupArn"]
    compat.wait(lambda: personalize.describe_dataset_group(datasetGroupArn=dataset_group_arn), "datasetGroup", 20)
    schema = {"type": "record", "name": "Interactions", "namespace": "com.amazonaws.personalize.schema",
              "fields": [{"name": "ITEM_ID", "type": "string"}, {"name": "USER_ID", "type": "string"},
                         {"name": "TIMESTAMP", "type": "long"},
                         {"name": "CABIN_TYPE", "type": "string", "categorical": True},
                         {"name": "EVENT_TYPE", "type": "string"}, {"name": "EVENT_VALUE", "type": "float"}],
              "version": "1.0"}
    schema_arn = personalize.create_schema(name="airlines-interaction-schema-" + suffix,
                                           schema=json.dumps(schema))["schemaArn"]
    interactions_dataset_arn = personalize.create_dataset(
        datasetType="INTERACTIONS", datasetGroupArn=dataset_group_arn, schemaArn=schema_arn,
        name="airlines-dataset-interactions-" + suffix)["datasetArn"]
    metadata_schema = {"type": "record", "name": "Users", "namespace": "com.amazonaws.personalize.schema",
                       "fields": [{"name": "USER_ID", "type": "string"},
                                  {"name": "NATIONALITY", "type": "string", "categorical": True}],
                       "version": "1.0"}
    metadata_schema_arn = personalize.create_schema(name="airlines-users-schema-" + suffix,
                                                    schema=json.dumps(metadata_schema))["schemaArn"]
    metadata_dataset_arn = personalize.create_dataset(
        datasetType="USERS", datasetGroupArn=dataset_group_arn, schemaArn=metadata_schema_arn,
        name="airlines-metadata-dataset-users-" + suffix)["datasetArn"]
    policy = {"Version": "2012-10-17", "Id": "PersonalizeS3BucketAccessPolicy",
              "Statement": [{"Sid": "PersonalizeS3BucketAccessPolicy", "Effect": "Allow",
                             "Principal": {"Service": "personalize.amazonaws.com"},
                             "Action": ["s3:GetObject", "s3:ListBucket"],
                             "Resource": ["arn:aws:s3:::{}".format(bucket_name),
                                          "arn:aws:s3:::{}/*".format(bucket_name)]}]}
    s3.put_bucket_policy(Bucket=bucket_name, Policy=json.dumps(policy))
    role_arn = compat.ROLE_ARN

    dataset_import_job_arn = personalize.create_dataset_import_job(
        jobName="airlines-dataset-import-job-" + suffix, datasetArn=interactions_dataset_arn,
        dataSource={"dataLocation": "s3://{}/{}".format(bucket_name, interactions_key)},
        roleArn=role_arn)["datasetImportJobArn"]
    metadata_dataset_import_job_arn = personalize.create_dataset_import_job(
        jobName="airlines-users-metadata-dataset-import-job-" + suffix, datasetArn=metadata_dataset_arn,
        dataSource={"dataLocation": "s3://{}/{}".format(bucket_name, user_metadata_file)},
        roleArn=role_arn)["datasetImportJobArn"]
    for arn in [dataset_import_job_arn, metadata_dataset_import_job_arn]:
        max_time = time.time() + 3 * 60 * 60
        while time.time() < max_time:
            dataset_import_job = personalize.describe_dataset_import_job(
                datasetImportJobArn=arn)["datasetImportJob"]
            if "latestDatasetImportJobRun" not in dataset_import_job:
                status = dataset_import_job["status"]
            else:
                status = dataset_import_job["latestDatasetImportJobRun"]["status"]
            print("DatasetImportJob: {}".format(status))
            if status == "ACTIVE" or status == "CREATE FAILED":
                break
            time.sleep(60)
        compat.expect(status == "ACTIVE", "import ended %s: %s" % (status, dataset_import_job.get("failureReason")))

    for recipe in personalize.list_recipes()["recipes"]:
        print(recipe["recipeArn"])
    solution_arn = personalize.create_solution(
        name="airlines-user-personalization-solution-HPO-" + suffix, datasetGroupArn=dataset_group_arn,
        recipeArn="arn:aws:personalize:::recipe/aws-user-personalization", performHPO=True)["solutionArn"]
    solution_version_arn = personalize.create_solution_version(solutionArn=solution_arn)["solutionVersionArn"]
    compat.active(compat.wait(lambda: personalize.describe_solution_version(solutionVersionArn=solution_version_arn),
                              "solutionVersion"), "solution version")
    print(json.dumps(personalize.get_solution_metrics(solutionVersionArn=solution_version_arn), default=str))
    campaign_arn = personalize.create_campaign(
        name="airlines-metadata-campaign-" + suffix, solutionVersionArn=solution_version_arn,
        minProvisionedTPS=2)["campaignArn"]
    compat.active(compat.wait(lambda: personalize.describe_campaign(campaignArn=campaign_arn), "campaign"),
                  "campaign")

    for user_id in ["Author007", "Author042"]:
        for context in ["None", "Economy", "Business Class", "Premium Economy", "First Class"]:
            if context == "none":
                response = personalize_runtime.get_recommendations(campaignArn=campaign_arn, userId=str(user_id))
            else:
                response = personalize_runtime.get_recommendations(
                    campaignArn=campaign_arn, userId=str(user_id), context={"CABIN_TYPE": context})
            recommendation_list = [item["itemId"] for item in response["itemList"]]
            compat.expect(len(recommendation_list) > 0, "no recommendations for context " + context)


compat.run(main)
