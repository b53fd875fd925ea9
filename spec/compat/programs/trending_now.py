"""aws-samples next_steps/core_use_cases/trending_now: a Trending-Now
solution (trend_discovery_frequency 30 minutes) trained with
trainingMode FULL, a campaign, recommendations asked for without a userId
before and after a burst of Watch events sent through an event tracker
(one minute after creating it, the notebook's only wait for it); then the
notebook's clean-up.

As the notebook: Click and Watch interactions from the ratings, written
with pandas' index column. Smaller: the burst is 2 rounds of 5 users x 5
items (the notebook sends 25 x 10 x 10, one second apart). Left out: the
IAM role (named here) and its propagation sleep.
"""
import json
import time
import uuid

import boto3

import compat
import cleanup


def main():
    region = compat.REGION
    bucket_name = compat.bucket_name("personalize-trending-now")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket_name)
    personalize = boto3.Session(region_name=region).client("personalize")
    personalize_events = boto3.Session(region_name=region).client("personalize-events")
    personalize_runtime = boto3.Session(region_name=region).client("personalize-runtime")

    movies, ratings = compat.movielens(users=100, items=220, seed=31)
    titles = {m["movieId"]: m["title"] for m in movies}
    watched = [dict(USER_ID=r["userId"], ITEM_ID=r["movieId"], TIMESTAMP=r["timestamp"], EVENT_TYPE="Watch")
               for r in ratings if r["rating"] > 3]
    clicked = [dict(USER_ID=r["userId"], ITEM_ID=r["movieId"], TIMESTAMP=r["timestamp"], EVENT_TYPE="Click")
               for r in ratings if r["rating"] > 1]
    interactions_df = sorted(clicked + watched, key=lambda r: r["TIMESTAMP"])
    interactions_file_path = "curated_interactions_training_data.csv"
    compat.write_frame(compat.path(interactions_file_path), interactions_df,
                       ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"], index=True)
    boto3.Session().resource("s3").Bucket(bucket_name).Object(interactions_file_path).upload_file(
        compat.path(interactions_file_path))
    policy = {"Version": "2012-10-17", "Id": "PersonalizeS3BucketAccessPolicy",
              "Statement": [{"Sid": "PersonalizeS3BucketAccessPolicy", "Effect": "Allow",
                             "Principal": {"Service": "personalize.amazonaws.com"},
                             "Action": ["s3:GetObject", "s3:ListBucket"],
                             "Resource": ["arn:aws:s3:::{}".format(bucket_name),
                                          "arn:aws:s3:::{}/*".format(bucket_name)]}]}
    s3.put_bucket_policy(Bucket=bucket_name, Policy=json.dumps(policy))

    dataset_group_arn = personalize.create_dataset_group(name="trending_now_dataset_group")["datasetGroupArn"]
    compat.wait(lambda: personalize.describe_dataset_group(datasetGroupArn=dataset_group_arn), "datasetGroup")
    interactions_schema = {"type": "record", "name": "Interactions",
                           "namespace": "com.amazonaws.personalize.schema",
                           "fields": [{"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"},
                                      {"name": "EVENT_TYPE", "type": "string"},
                                      {"name": "TIMESTAMP", "type": "long"}],
                           "version": "1.0"}
    interactions_schema_arn = personalize.create_schema(
        name="trending-now-interaction-dataset-schema", schema=json.dumps(interactions_schema))["schemaArn"]
    interactions_dataset_arn = personalize.create_dataset(
        name="trending-now-interactions", datasetType="INTERACTIONS", datasetGroupArn=dataset_group_arn,
        schemaArn=interactions_schema_arn)["datasetArn"]
    job_arn = personalize.create_dataset_import_job(
        jobName="trending-now-interactions-import", datasetArn=interactions_dataset_arn,
        dataSource={"dataLocation": "s3://{}/{}".format(bucket_name, interactions_file_path)},
        roleArn=compat.ROLE_ARN)["datasetImportJobArn"]
    compat.active(compat.wait(lambda: personalize.describe_dataset_import_job(datasetImportJobArn=job_arn),
                              "datasetImportJob"), "import")

    trending_now_recipe = "arn:aws:personalize:::recipe/aws-trending-now"
    solution_arn = personalize.create_solution(
        name="trending-now-solution", recipeArn=trending_now_recipe, datasetGroupArn=dataset_group_arn,
        solutionConfig={"featureTransformationParameters": {"trend_discovery_frequency": "30 minutes"}}
    )["solutionArn"]
    solution_version_arn = personalize.create_solution_version(
        solutionArn=solution_arn, trainingMode="FULL")["solutionVersionArn"]
    compat.active(compat.wait(lambda: personalize.describe_solution_version(solutionVersionArn=solution_version_arn),
                              "solutionVersion", max_hours=10), "solution version")
    personalize.describe_solution_version(solutionVersionArn=solution_version_arn)

    campaign_arn = personalize.create_campaign(
        name="trending-now-campaign", solutionVersionArn=solution_version_arn, minProvisionedTPS=1)["campaignArn"]
    compat.active(compat.wait(lambda: personalize.describe_campaign(campaignArn=campaign_arn), "campaign",
                              max_hours=10), "campaign")

    item_ids = personalize_runtime.get_recommendations(campaignArn=campaign_arn, numResults=25)
    before = [(int(item["itemId"]), titles[item["itemId"]]) for item in item_ids["itemList"]]
    compat.expect(len(before) > 0, "no trending items")

    tracking_id = personalize.create_event_tracker(
        name="trending-now-event-tracker", datasetGroupArn=dataset_group_arn)["trackingId"]
    time.sleep(60)
    user_rand = [r["USER_ID"] for r in interactions_df[::397]][:5]
    items_rand = [m["movieId"] for m in movies[150:155]]
    for i in range(0, 2):
        for user_id in user_rand:
            session_id = str(uuid.uuid4())
            for item_id in items_rand:
                time.sleep(1)
                personalize_events.put_events(
                    trackingId=tracking_id, userId=str(user_id), sessionId=session_id,
                    eventList=[{"eventType": "Watch", "itemId": str(item_id), "sentAt": int(time.time())}])

    item_ids = personalize_runtime.get_recommendations(campaignArn=campaign_arn, numResults=25)
    after = [(int(item["itemId"]), titles[item["itemId"]]) for item in item_ids["itemList"]]
    compat.expect(len(after) > 0, "no trending items after the events")

    cleanup.delete_dataset_groups([dataset_group_arn], [], region)


compat.run(main)
