"""aws-samples next_steps/core_use_cases/user_personalization
(user-personalization-with-exploration): interactions with an IMPRESSION
field, items with a CREATION_TIMESTAMP read from a CSV whose header spells
it `creation_timestamp` (the notebook's pandas code uses that name),
timestamps shifted to end eight days ago, imports polled after a first
one-minute sleep, a campaign with explorationWeight 0.9 and a 7-day
explorationItemAgeCutOff, events sent with recommendationId, impression
and float sentAt, ten events in one put_events, an UPDATE solution
version, update_campaign to it and then to a new exploration weight alone
(each waited for through describe_campaign as the notebook does), then the
notebook's clean-up (list_* polled every five seconds until empty).

Data: MovieLens-like rows in place of Personalize's public sample bucket.
Left out: the IAM role (named here).
"""
import json
import os
import time
from datetime import datetime

import boto3

import compat


def main():
    prefix, suffix = "explore-", "0421"
    personalize = boto3.client("personalize")
    personalize_runtime = boto3.client("personalize-runtime")
    personalize_events = boto3.client("personalize-events")
    s3_client = boto3.client("s3")

    movies, ratings = compat.movielens(users=100, items=260, seed=83)
    current_time = int(time.time())
    one_hour_ago = current_time - 8 * 24 * 60 * 60
    delta = one_hour_ago - max(r["timestamp"] for r in ratings)
    interactions = []
    for n, r in enumerate(ratings):
        interactions.append({"USER_ID": r["userId"], "ITEM_ID": r["movieId"], "EVENT_TYPE": "click",
                             "TIMESTAMP": r["timestamp"] + delta,
                             "IMPRESSION": "|".join(str(int(r["movieId"]) + k) for k in range(3))})
    compat.write_frame(compat.path("interaction.csv"), interactions,
                       ["USER_ID", "ITEM_ID", "EVENT_TYPE", "IMPRESSION", "TIMESTAMP"])
    items = [{"ITEM_ID": m["movieId"], "GENRES": m["genres"],
              "creation_timestamp": one_hour_ago - (int(m["movieId"]) % 30) * 86400} for m in movies]
    compat.write_frame(compat.path("items.csv"), items, ["ITEM_ID", "GENRES", "creation_timestamp"])

    dataset_group_arn = personalize.create_dataset_group(name=prefix + suffix)["datasetGroupArn"]
    compat.wait(lambda: personalize.describe_dataset_group(datasetGroupArn=dataset_group_arn), "datasetGroup", 20)
    interaction_schema_arn = personalize.create_schema(name=prefix + "interaction-" + suffix, schema=json.dumps({
        "type": "record", "name": "Interactions", "namespace": "com.amazonaws.personalize.schema",
        "fields": [{"name": "EVENT_TYPE", "type": "string"}, {"name": "IMPRESSION", "type": "string"},
                   {"name": "ITEM_ID", "type": "string"}, {"name": "TIMESTAMP", "type": "long"},
                   {"name": "USER_ID", "type": "string"}],
        "version": "1.0"}))["schemaArn"]
    item_metadata_schema_arn = personalize.create_schema(name=prefix + "items-" + suffix, schema=json.dumps({
        "type": "record", "name": "Items", "namespace": "com.amazonaws.personalize.schema",
        "fields": [{"name": "ITEM_ID", "type": "string"},
                   {"name": "GENRES", "type": "string", "categorical": True},
                   {"name": "CREATION_TIMESTAMP", "type": "long"}],
        "version": "1.0"}))["schemaArn"]
    interactions_dataset_arn = personalize.create_dataset(
        name=prefix + "interactions-" + suffix, schemaArn=interaction_schema_arn,
        datasetGroupArn=dataset_group_arn, datasetType="Interactions")["datasetArn"]
    items_dataset_arn = personalize.create_dataset(
        name=prefix + "items-" + suffix, schemaArn=item_metadata_schema_arn,
        datasetGroupArn=dataset_group_arn, datasetType="Items")["datasetArn"]

    s3_bucket_name = compat.personalize_bucket(compat.bucket_name("personalize-exploration"))
    s3_client.upload_file(compat.path("interaction.csv"), s3_bucket_name, "interaction.csv")
    s3_client.upload_file(compat.path("items.csv"), s3_bucket_name, "items.csv")
    role_arn = compat.ROLE_ARN
    interactions_dij_arn = personalize.create_dataset_import_job(
        jobName=prefix + "interactions-" + suffix, datasetArn=interactions_dataset_arn,
        dataSource={"dataLocation": "s3://{}/{}".format(s3_bucket_name, "interaction.csv")},
        roleArn=role_arn)["datasetImportJobArn"]
    items_dij_arn = personalize.create_dataset_import_job(
        jobName=prefix + "items-" + suffix, datasetArn=items_dataset_arn,
        dataSource={"dataLocation": "s3://{}/{}".format(s3_bucket_name, "items.csv")},
        roleArn=role_arn)["datasetImportJobArn"]
    dataset_job_arns = [interactions_dij_arn, items_dij_arn]
    max_time = time.time() + 3 * 60 * 60
    while time.time() < max_time and len(dataset_job_arns) != 0:
        time.sleep(60)
        for dij_arn in list(dataset_job_arns):
            job = personalize.describe_dataset_import_job(datasetImportJobArn=dij_arn)["datasetImportJob"]
            status = job["status"]
            if status == "ACTIVE" or status == "CREATE FAILED":
                compat.expect(status == "ACTIVE", "import ended %s: %s" % (status, job.get("failureReason")))
                dataset_job_arns.remove(dij_arn)

    solution_arn = personalize.create_solution(
        name=prefix + suffix, recipeArn="arn:aws:personalize:::recipe/aws-user-personalization",
        datasetGroupArn=dataset_group_arn)["solutionArn"]
    solution_version_arn = personalize.create_solution_version(solutionArn=solution_arn)["solutionVersionArn"]
    compat.active(compat.wait(lambda: personalize.describe_solution_version(solutionVersionArn=solution_version_arn),
                              "solutionVersion"), "solution version")
    campaign_arn = personalize.create_campaign(
        name=prefix + suffix, solutionVersionArn=solution_version_arn, minProvisionedTPS=1,
        campaignConfig={"itemExplorationConfig": {"explorationWeight": "0.9", "explorationItemAgeCutOff": "7"}}
    )["campaignArn"]
    compat.active(compat.wait(lambda: personalize.describe_campaign(campaignArn=campaign_arn), "campaign"),
                  "campaign")
    campaign_summary = personalize.describe_campaign(campaignArn=campaign_arn)["campaign"]
    print(campaign_summary["campaignConfig"])
    rec_response = personalize_runtime.get_recommendations(campaignArn=campaign_arn, userId="101")
    print(rec_response["recommendationId"])
    compat.expect(len(rec_response["itemList"]) > 0, "no recommendations")

    even_tracker_response = personalize.create_event_tracker(name=prefix + suffix, datasetGroupArn=dataset_group_arn)
    event_tracker_arn = even_tracker_response["eventTrackerArn"]
    event_tracking_id = even_tracker_response["trackingId"]
    personalize_events.put_events(
        trackingId=event_tracking_id, userId="101", sessionId="1",
        eventList=[{"sentAt": datetime.now().timestamp(), "eventType": "click",
                    "itemId": rec_response["itemList"][0]["itemId"],
                    "recommendationId": rec_response["recommendationId"],
                    "impression": [item["itemId"] for item in rec_response["itemList"]]}])
    personalize_events.put_events(
        trackingId=event_tracking_id, userId="101", sessionId="1",
        eventList=[{"sentAt": datetime.now().timestamp(), "eventType": "click", "itemId": str(240 + k)}
                   for k in range(10)])

    solution_version_after_update = personalize.create_solution_version(
        solutionArn=solution_arn, trainingMode="UPDATE")["solutionVersionArn"]
    compat.active(compat.wait(lambda: personalize.describe_solution_version(
        solutionVersionArn=solution_version_after_update), "solutionVersion"), "UPDATE solution version")
    personalize.update_campaign(campaignArn=campaign_arn, solutionVersionArn=solution_version_after_update)
    max_time = time.time() + 3 * 60 * 60
    while time.time() < max_time:
        solutionVersionArn = personalize.describe_campaign(campaignArn=campaign_arn)["campaign"]["solutionVersionArn"]
        print("Campaign solution version: {}".format(solutionVersionArn))
        if solutionVersionArn == solution_version_after_update:
            break
        time.sleep(60)
    time.sleep(60)
    rec_response = personalize_runtime.get_recommendations(campaignArn=campaign_arn, userId="101")
    compat.expect(len(rec_response["itemList"]) > 0, "no recommendations after the update")

    personalize.update_campaign(campaignArn=campaign_arn, campaignConfig={
        "itemExplorationConfig": {"explorationWeight": "0.1", "explorationItemAgeCutOff": "7"}})
    max_time = time.time() + 3 * 60 * 60
    while time.time() < max_time:
        c = personalize.describe_campaign(campaignArn=campaign_arn)["campaign"]
        explorationWeight = c["campaignConfig"]["itemExplorationConfig"]["explorationWeight"]
        print("Current Campaign explorationWeight: {}".format(explorationWeight))
        if explorationWeight == "0.1":
            break
        time.sleep(60)
    time.sleep(60)
    c = personalize.describe_campaign(campaignArn=campaign_arn)["campaign"]
    compat.expect(c["solutionVersionArn"] == solution_version_after_update, "the config update changed the version")
    rec_response = personalize_runtime.get_recommendations(campaignArn=campaign_arn, userId="101")

    deadline = time.time() + 120  # the notebook's loops have no limit; this one keeps the program finite
    personalize.delete_campaign(campaignArn=campaign_arn)
    while len(personalize.list_campaigns(solutionArn=solution_arn)["campaigns"]) and time.time() < deadline:
        time.sleep(5)
    personalize.delete_solution(solutionArn=solution_arn)
    while len(personalize.list_solutions(datasetGroupArn=dataset_group_arn)["solutions"]) and time.time() < deadline:
        time.sleep(5)
    for dataset in personalize.list_datasets(datasetGroupArn=dataset_group_arn)["datasets"]:
        personalize.delete_dataset(datasetArn=dataset["datasetArn"])
    while len(personalize.list_datasets(datasetGroupArn=dataset_group_arn)["datasets"]) and time.time() < deadline:
        time.sleep(5)
    personalize.delete_event_tracker(eventTrackerArn=event_tracker_arn)
    personalize.delete_dataset_group(datasetGroupArn=dataset_group_arn)
    compat.expect(time.time() < deadline, "a list_* loop of the clean-up never emptied")


compat.run(main)
