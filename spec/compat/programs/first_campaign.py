"""aws-samples getting_started notebooks 1, 2 and 99: the first campaign
(user-personalization with an exploration weight), an event tracker and a
click sent with put_events (the item id inside `properties`, as the
notebook sends it), then the clean-up with its one-minute sleeps.

Left out: SSM parameters and the CloudFormation stack (the bucket, its
policy and the role are made or named here), the
notebook's deletion of the old EVENT_INTERACTIONS dataset (a resource
Personalize no longer makes).
"""
import json
import time
import uuid

import boto3

import compat


def main():
    personalize = boto3.client("personalize")
    personalize_runtime = boto3.client("personalize-runtime")
    bucket = compat.bucket_name("first-campaign")
    filename = "movie-lens-100k.csv"
    compat.personalize_bucket(bucket)  # the CloudFormation stack's bucket and policy

    movies, ratings = compat.movielens(seed=3)
    data = [r for r in ratings if r["rating"] > 3]
    data = [{"USER_ID": r["userId"], "ITEM_ID": r["movieId"], "TIMESTAMP": r["timestamp"]} for r in data]
    compat.write_frame(compat.path(filename), data, ["USER_ID", "ITEM_ID", "TIMESTAMP"])
    boto3.Session().resource("s3").Bucket(bucket).Object(filename).upload_file(compat.path(filename))

    schema = {
        "type": "record",
        "name": "Interactions",
        "namespace": "com.amazonaws.personalize.schema",
        "fields": [
            {"name": "USER_ID", "type": "string"},
            {"name": "ITEM_ID", "type": "string"},
            {"name": "TIMESTAMP", "type": "long"},
        ],
        "version": "1.0",
    }
    create_schema_response = personalize.create_schema(
        name="personalize-demo-schema", schema=json.dumps(schema))
    schema_arn = create_schema_response["schemaArn"]

    create_dataset_group_response = personalize.create_dataset_group(name="personalize-launch-demo")
    dataset_group_arn = create_dataset_group_response["datasetGroupArn"]

    max_time = time.time() + 3 * 60 * 60
    while time.time() < max_time:
        status = personalize.describe_dataset_group(datasetGroupArn=dataset_group_arn)["datasetGroup"]["status"]
        print("DatasetGroup: {}".format(status))
        if status == "ACTIVE" or status == "CREATE FAILED":
            break
        time.sleep(60)

    create_dataset_response = personalize.create_dataset(
        name="personalize-launch-interactions", datasetType="INTERACTIONS",
        datasetGroupArn=dataset_group_arn, schemaArn=schema_arn)
    dataset_arn = create_dataset_response["datasetArn"]

    max_time = time.time() + 3 * 60 * 60
    while time.time() < max_time:
        status = personalize.describe_dataset(datasetArn=dataset_arn)["dataset"]["status"]
        print("Dataset: {}".format(status))
        if status == "ACTIVE" or status == "CREATE FAILED":
            break
        time.sleep(60)

    create_dataset_import_job_response = personalize.create_dataset_import_job(
        jobName="personalize-demo-import1", datasetArn=dataset_arn,
        dataSource={"dataLocation": "s3://{}/{}".format(bucket, filename)}, roleArn=compat.ROLE_ARN)
    dataset_import_job_arn = create_dataset_import_job_response["datasetImportJobArn"]

    max_time = time.time() + 3 * 60 * 60
    while time.time() < max_time:
        status = personalize.describe_dataset_import_job(
            datasetImportJobArn=dataset_import_job_arn)["datasetImportJob"]["status"]
        print("DatasetImportJob: {}".format(status))
        if status == "ACTIVE" or status == "CREATE FAILED":
            break
        time.sleep(60)
    compat.expect(status == "ACTIVE", "import ended " + status)

    personalize.list_recipes()
    recipe_arn = "arn:aws:personalize:::recipe/aws-user-personalization"
    create_solution_response = personalize.create_solution(
        name="personalize-demo-soln-user-personalization", datasetGroupArn=dataset_group_arn,
        recipeArn=recipe_arn)
    solution_arn = create_solution_response["solutionArn"]

    create_solution_version_response = personalize.create_solution_version(solutionArn=solution_arn)
    solution_version_arn = create_solution_version_response["solutionVersionArn"]

    max_time = time.time() + 3 * 60 * 60
    while time.time() < max_time:
        status = personalize.describe_solution_version(
            solutionVersionArn=solution_version_arn)["solutionVersion"]["status"]
        print("SolutionVersion: {}".format(status))
        if status == "ACTIVE" or status == "CREATE FAILED":
            break
        time.sleep(60)
    compat.expect(status == "ACTIVE", "solution version ended " + status)

    get_solution_metrics_response = personalize.get_solution_metrics(solutionVersionArn=solution_version_arn)
    print(json.dumps(get_solution_metrics_response, indent=2, default=str))

    create_campaign_response = personalize.create_campaign(
        name="personalize-demo-camp", solutionVersionArn=solution_version_arn, minProvisionedTPS=1,
        campaignConfig={"itemExplorationConfig": {"explorationWeight": "0.5"}})
    campaign_arn = create_campaign_response["campaignArn"]

    max_time = time.time() + 3 * 60 * 60
    while time.time() < max_time:
        status = personalize.describe_campaign(campaignArn=campaign_arn)["campaign"]["status"]
        print("Campaign: {}".format(status))
        if status == "ACTIVE" or status == "CREATE FAILED":
            break
        time.sleep(60)
    compat.expect(status == "ACTIVE", "campaign ended " + status)

    user_id = data[len(data) // 2]["USER_ID"]
    titles = {m["movieId"]: m["title"] for m in movies}
    get_recommendations_response = personalize_runtime.get_recommendations(
        campaignArn=campaign_arn, userId=str(user_id))
    recommendations = [titles[item["itemId"]] for item in get_recommendations_response["itemList"]]
    compat.expect(len(recommendations) > 0, "no recommendations")

    # Notebook 2: an event tracker and a click.
    personalize_events = boto3.client(service_name="personalize-events")
    response = personalize.create_event_tracker(name="MovieClickTracker", datasetGroupArn=dataset_group_arn)
    TRACKING_ID = response["trackingId"]
    event_tracker_arn = response["eventTrackerArn"]
    session_dict = {}

    def send_movie_click(USER_ID, ITEM_ID):
        try:
            session_ID = session_dict[USER_ID]
        except KeyError:
            session_dict[USER_ID] = str(uuid.uuid1())
            session_ID = session_dict[USER_ID]
        event_json = json.dumps({"itemId": str(ITEM_ID)})
        personalize_events.put_events(
            trackingId=TRACKING_ID, userId=USER_ID, sessionId=session_ID,
            eventList=[{"sentAt": int(time.time()), "eventType": "EVENT_TYPE", "properties": event_json}])

    movie_to_click = 270
    send_movie_click(USER_ID=str(user_id), ITEM_ID=movie_to_click)
    get_recommendations_response = personalize_runtime.get_recommendations(
        campaignArn=campaign_arn, userId=str(user_id))
    new_recommendations = [titles[item["itemId"]] for item in get_recommendations_response["itemList"]]
    compat.expect(len(new_recommendations) > 0, "no recommendations after the click")

    # Notebook 99: the clean-up.
    personalize.delete_campaign(campaignArn=campaign_arn)
    time.sleep(60)
    personalize.delete_solution(solutionArn=solution_arn)
    time.sleep(60)
    personalize.delete_event_tracker(eventTrackerArn=event_tracker_arn)
    time.sleep(60)
    personalize.delete_dataset(datasetArn=dataset_arn)
    time.sleep(60)
    personalize.delete_schema(schemaArn=schema_arn)


compat.run(main)
