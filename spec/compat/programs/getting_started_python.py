"""The developer guide's "Getting started (SDK for Python (Boto3))": list the
recipes, schema, dataset group and its documented wait, dataset, import
job, solution and version, metrics, campaign, recommendations.

Data: the prerequisites' interactions CSV (USER_ID, ITEM_ID, EVENT_TYPE
click or watch, TIMESTAMP) from local MovieLens-like ratings; the bucket and its policy as the
prerequisites set them up.
"""
import json
import time

import boto3

import compat


def prerequisites():
    movies, ratings = compat.movielens()
    # watched (rated above 3) and clicked (rated above 1) events
    rows = [{"USER_ID": r["userId"], "ITEM_ID": r["movieId"], "EVENT_TYPE": "click",
             "TIMESTAMP": r["timestamp"]} for r in ratings if r["rating"] > 1]
    rows += [{"USER_ID": r["userId"], "ITEM_ID": r["movieId"], "EVENT_TYPE": "watch",
              "TIMESTAMP": r["timestamp"]} for r in ratings if r["rating"] > 3]
    compat.write_frame(compat.path("movie_ratings.csv"), rows, ["USER_ID", "ITEM_ID", "EVENT_TYPE", "TIMESTAMP"])
    bucket = compat.bucket_name("getting-started")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17", "Id": "PersonalizeS3BucketAccessPolicy",
        "Statement": [{"Sid": "PersonalizeS3BucketAccessPolicy", "Effect": "Allow",
                       "Principal": {"Service": "personalize.amazonaws.com"},
                       "Action": ["s3:GetObject", "s3:ListBucket"],
                       "Resource": ["arn:aws:s3:::" + bucket, "arn:aws:s3:::" + bucket + "/*"]}]}))
    s3.upload_file(compat.path("movie_ratings.csv"), bucket, "movie_ratings.csv")
    return bucket, movies


def main():
    bucket, movies = prerequisites()

    # Step 1: the environment.
    personalizeRt = boto3.client("personalize-runtime")
    personalize = boto3.client("personalize")
    response = personalize.list_recipes()
    for recipe in response["recipes"]:
        print(recipe)

    # Step 2: import the historical data.
    schema = {
        "type": "record",
        "name": "Interactions",
        "namespace": "com.amazonaws.personalize.schema",
        "fields": [
            {"name": "USER_ID", "type": "string"},
            {"name": "ITEM_ID", "type": "string"},
            {"name": "EVENT_TYPE", "type": "string"},
            {"name": "TIMESTAMP", "type": "long"},
        ],
        "version": "1.0",
    }
    create_interactions_schema_response = personalize.create_schema(
        name="getting-started-schema", schema=json.dumps(schema))
    interactions_schema_arn = create_interactions_schema_response["schemaArn"]
    print(json.dumps(create_interactions_schema_response, indent=2))

    response = personalize.create_dataset_group(name="getting-started")
    dataset_group_arn = response["datasetGroupArn"]
    description = personalize.describe_dataset_group(datasetGroupArn=dataset_group_arn)["datasetGroup"]
    print("Name: " + description["name"])
    print("ARN: " + description["datasetGroupArn"])
    print("Status: " + description["status"])

    # the wait the guide documents: the dataset group must be ACTIVE
    max_time = time.time() + 3 * 60 * 60
    while time.time() < max_time:
        status = personalize.describe_dataset_group(
            datasetGroupArn=dataset_group_arn)["datasetGroup"]["status"]
        print("DatasetGroup: {}".format(status))
        if status == "ACTIVE" or status == "CREATE FAILED":
            break
        time.sleep(60)

    response = personalize.create_dataset(
        name="getting-started-interactions",
        schemaArn=interactions_schema_arn,
        datasetGroupArn=dataset_group_arn,
        datasetType="Interactions",
    )
    dataset_arn = response["datasetArn"]
    description = personalize.describe_dataset(datasetArn=dataset_arn)["dataset"]
    print("Name: " + description["name"])
    print("ARN: " + description["datasetArn"])
    print("Status: " + description["status"])

    response = personalize.create_dataset_import_job(
        jobName="getting-started-dataset-import",
        datasetArn=dataset_arn,
        dataSource={"dataLocation": "s3://%s/%s" % (bucket, "movie_ratings.csv")},
        roleArn=compat.ROLE_ARN,
        importMode="FULL",
    )
    dataset_interactions_import_job_arn = response["datasetImportJobArn"]
    description = personalize.describe_dataset_import_job(
        datasetImportJobArn=dataset_interactions_import_job_arn)["datasetImportJob"]
    print("Name: " + description["jobName"])
    print("ARN: " + description["datasetImportJobArn"])
    print("Status: " + description["status"])

    max_time = time.time() + 3 * 60 * 60
    while time.time() < max_time:
        describe_dataset_import_job_response = personalize.describe_dataset_import_job(
            datasetImportJobArn=dataset_interactions_import_job_arn)
        status = describe_dataset_import_job_response["datasetImportJob"]["status"]
        print("Interactions DatasetImportJob: {}".format(status))
        if status == "ACTIVE" or status == "CREATE FAILED":
            break
        time.sleep(60)
    compat.expect(status == "ACTIVE", "import job ended " + status)

    # Step 3: solution and solution version.
    create_solution_response = personalize.create_solution(
        name="getting-started-solution",
        datasetGroupArn=dataset_group_arn,
        recipeArn="arn:aws:personalize:::recipe/aws-user-personalization-v2",
    )
    solution_arn = create_solution_response["solutionArn"]
    print("solution_arn: ", solution_arn)

    create_solution_version_response = personalize.create_solution_version(solutionArn=solution_arn)
    solution_version_arn = create_solution_version_response["solutionVersionArn"]
    print("solution_version_arn:", solution_version_arn)

    max_time = time.time() + 3 * 60 * 60
    while time.time() < max_time:
        describe_solution_version_response = personalize.describe_solution_version(
            solutionVersionArn=solution_version_arn)
        status = describe_solution_version_response["solutionVersion"]["status"]
        print("SolutionVersion: {}".format(status))
        if status == "ACTIVE" or status == "CREATE FAILED":
            break
        time.sleep(60)
    compat.expect(status == "ACTIVE", "solution version ended " + status)

    get_solution_metrics_response = personalize.get_solution_metrics(
        solutionVersionArn=solution_version_arn)
    print(json.dumps(get_solution_metrics_response, indent=2, default=str))

    # Step 4: the campaign.
    response = personalize.create_campaign(
        name="getting-started-campaign",
        solutionVersionArn=solution_version_arn,
        minProvisionedTPS=1,
    )
    campaign_arn = response["campaignArn"]
    description = personalize.describe_campaign(campaignArn=campaign_arn)["campaign"]
    print("Name: " + description["name"])
    print("ARN: " + description["campaignArn"])
    print("Status: " + description["status"])

    max_time = time.time() + 3 * 60 * 60
    while time.time() < max_time:
        status = personalize.describe_campaign(campaignArn=campaign_arn)["campaign"]["status"]
        print("Campaign: {}".format(status))
        if status == "ACTIVE" or status == "CREATE FAILED":
            break
        time.sleep(60)
    compat.expect(status == "ACTIVE", "campaign ended " + status)

    # Step 5: recommendations, shown as the guide's DataFrame would (a list
    # of titles here).
    titles = {m["movieId"]: m["title"] for m in movies}
    response = personalizeRt.get_recommendations(campaignArn=campaign_arn, userId="12")
    print("Recommended items")
    recommendation_list = []
    for item in response["itemList"]:
        print(item["itemId"])
        recommendation_list.append(titles.get(item["itemId"]))
    compat.expect(len(recommendation_list) > 0, "no recommendations")
    compat.expect(all(recommendation_list), "an item without a title: " + repr(recommendation_list))


compat.run(main)
