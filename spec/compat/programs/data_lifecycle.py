"""The developer guide's SDK for Python examples for keeping data current,
in the order of its "Updating data" chapters, on one custom dataset group:
bulk imports (items with an int YEAR that some MovieLens rows cannot fill:
a range of years, an empty year), an INCREMENTAL import, a solution
version, a campaign, then an event tracker with put_events (the item id in
`properties`, as the guide's example sends it), put_items and put_users,
a retraining with trainingMode UPDATE (the updating-datasets notebook), a
dataset export job, a data deletion job; then the samples' clean-up.
"""
import json
import time

import boto3

import compat
import cleanup


def main():
    personalize = boto3.client("personalize")
    personalize_events = boto3.client("personalize-events")
    personalize_runtime = boto3.client("personalize-runtime")
    bucket = compat.personalize_bucket(compat.bucket_name("personalize-data-lifecycle"))
    s3 = boto3.client("s3")

    movies, ratings = compat.movielens(users=110, items=240, seed=41)
    first = [r for r in ratings if r["timestamp"] < ratings[len(ratings) * 4 // 5]["timestamp"]]
    later = ratings[len(first):]
    cols = ["USER_ID", "ITEM_ID", "EVENT_TYPE", "TIMESTAMP"]

    def rows(rs):
        return [{"USER_ID": r["userId"], "ITEM_ID": r["movieId"], "EVENT_TYPE": "watch",
                 "TIMESTAMP": r["timestamp"]} for r in rs]
    compat.write_frame(compat.path("interactions.csv"), rows(first), cols)
    compat.write_frame(compat.path("interactions-new.csv"), rows(later), cols)
    items = []
    for m in movies:
        year = m["title"].rsplit("(", 1)[1].rstrip(")") if m["title"].endswith(")") else ""
        items.append({"ITEM_ID": m["movieId"], "YEAR": year, "GENRES": m["genres"]})
    compat.write_frame(compat.path("items.csv"), items, ["ITEM_ID", "YEAR", "GENRES"])
    users = sorted({r["userId"] for r in ratings}, key=int)
    compat.write_frame(compat.path("users.csv"),
                       [{"USER_ID": u, "AGE": 20 + int(u) % 40, "GENDER": "MF"[int(u) % 2]} for u in users],
                       ["USER_ID", "AGE", "GENDER"])
    with open(compat.path("delete-users.csv"), "w") as f:
        f.write("USER_ID\n%s\n%s\n" % (users[0], users[1]))
    for name in ["interactions.csv", "interactions-new.csv", "items.csv", "users.csv", "delete-users.csv"]:
        s3.upload_file(compat.path(name), bucket, name)

    def schema(name, fields):
        return personalize.create_schema(name=name, schema=json.dumps({
            "type": "record", "name": name.split("-")[-1].capitalize(),
            "namespace": "com.amazonaws.personalize.schema", "fields": fields, "version": "1.0"}))["schemaArn"]
    interactions_schema = schema("lifecycle-interactions", [
        {"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"},
        {"name": "EVENT_TYPE", "type": "string"}, {"name": "TIMESTAMP", "type": "long"}])
    items_schema = schema("lifecycle-items", [
        {"name": "ITEM_ID", "type": "string"}, {"name": "YEAR", "type": "int"},
        {"name": "GENRES", "type": "string", "categorical": True}])
    users_schema = schema("lifecycle-users", [
        {"name": "USER_ID", "type": "string"}, {"name": "AGE", "type": "int"},
        {"name": "GENDER", "type": "string", "categorical": True}])

    dataset_group_arn = personalize.create_dataset_group(name="lifecycle")["datasetGroupArn"]
    compat.wait(lambda: personalize.describe_dataset_group(datasetGroupArn=dataset_group_arn), "datasetGroup")
    datasets = {}
    for kind, schema_arn in [("Interactions", interactions_schema), ("Items", items_schema),
                             ("Users", users_schema)]:
        datasets[kind] = personalize.create_dataset(
            name="lifecycle-" + kind.lower(), schemaArn=schema_arn, datasetGroupArn=dataset_group_arn,
            datasetType=kind)["datasetArn"]

    def import_job(name, dataset_arn, key, mode):
        arn = personalize.create_dataset_import_job(
            jobName=name, datasetArn=dataset_arn, dataSource={"dataLocation": "s3://%s/%s" % (bucket, key)},
            roleArn=compat.ROLE_ARN, importMode=mode)["datasetImportJobArn"]
        return arn

    jobs = [import_job("lifecycle-interactions", datasets["Interactions"], "interactions.csv", "FULL"),
            import_job("lifecycle-items", datasets["Items"], "items.csv", "FULL"),
            import_job("lifecycle-users", datasets["Users"], "users.csv", "FULL")]
    for arn in jobs:
        compat.active(compat.wait(lambda: personalize.describe_dataset_import_job(datasetImportJobArn=arn),
                                  "datasetImportJob"), "bulk import")
    arn = import_job("lifecycle-interactions-new", datasets["Interactions"], "interactions-new.csv", "INCREMENTAL")
    d = compat.wait(lambda: personalize.describe_dataset_import_job(datasetImportJobArn=arn), "datasetImportJob")
    compat.active(d, "incremental import")
    compat.expect(d["importMode"] == "INCREMENTAL", "importMode " + d["importMode"])

    solution_arn = personalize.create_solution(
        name="lifecycle-solution", datasetGroupArn=dataset_group_arn,
        recipeArn="arn:aws:personalize:::recipe/aws-user-personalization")["solutionArn"]
    solution_version_arn = personalize.create_solution_version(solutionArn=solution_arn)["solutionVersionArn"]
    compat.active(compat.wait(lambda: personalize.describe_solution_version(solutionVersionArn=solution_version_arn),
                              "solutionVersion"), "solution version")
    campaign_arn = personalize.create_campaign(
        name="lifecycle-campaign", solutionVersionArn=solution_version_arn, minProvisionedTPS=1)["campaignArn"]
    compat.active(compat.wait(lambda: personalize.describe_campaign(campaignArn=campaign_arn), "campaign"),
                  "campaign")

    response = personalize.create_event_tracker(name="lifecycle-tracker", datasetGroupArn=dataset_group_arn)
    print(response["eventTrackerArn"])
    tracking_id = response["trackingId"]
    personalize_events.put_events(
        trackingId=tracking_id, userId=users[5], sessionId="session-1",
        eventList=[{"sentAt": int(time.time()), "eventType": "watch",
                    "properties": json.dumps({"itemId": movies[10]["movieId"]})}])
    personalize_events.put_items(
        datasetArn=datasets["Items"],
        items=[{"itemId": "new-1", "properties": json.dumps({"year": 2024, "genres": "Drama"})},
               {"itemId": "new-2", "properties": json.dumps({"year": 2025, "genres": "Comedy"})}])
    personalize_events.put_users(
        datasetArn=datasets["Users"],
        users=[{"userId": "new-user-1", "properties": json.dumps({"age": 31, "gender": "F"})}])
    recs = personalize_runtime.get_recommendations(campaignArn=campaign_arn, userId=users[5])["itemList"]
    compat.expect(len(recs) > 0, "no recommendations")

    update_arn = personalize.create_solution_version(
        solutionArn=solution_arn, trainingMode="UPDATE")["solutionVersionArn"]
    compat.active(compat.wait(lambda: personalize.describe_solution_version(solutionVersionArn=update_arn),
                              "solutionVersion"), "UPDATE solution version")
    personalize.update_campaign(campaignArn=campaign_arn, solutionVersionArn=update_arn, minProvisionedTPS=1)
    d = compat.wait(lambda: personalize.describe_campaign(campaignArn=campaign_arn), "campaign")
    compat.expect(d["solutionVersionArn"] == update_arn, "campaign still on " + d["solutionVersionArn"])

    export_arn = personalize.create_dataset_export_job(
        jobName="lifecycle-export", datasetArn=datasets["Interactions"], ingestionMode="ALL",
        roleArn=compat.ROLE_ARN, jobOutput={"s3DataDestination": {"path": "s3://%s/export/" % bucket}}
    )["datasetExportJobArn"]
    compat.active(compat.wait(lambda: personalize.describe_dataset_export_job(datasetExportJobArn=export_arn),
                              "datasetExportJob"), "export job")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="export/").get("Contents", [])]
    compat.expect(any(k.endswith(".csv") for k in keys), "exported: %r" % keys)

    deletion_arn = personalize.create_data_deletion_job(
        jobName="lifecycle-deletion", datasetGroupArn=dataset_group_arn,
        dataSource={"dataLocation": "s3://%s/delete-users.csv" % bucket}, roleArn=compat.ROLE_ARN
    )["dataDeletionJobArn"]
    d = compat.wait(lambda: personalize.describe_data_deletion_job(dataDeletionJobArn=deletion_arn),
                    "dataDeletionJob", done=("COMPLETED", "FAILED"))
    compat.active(d, "data deletion job")
    compat.expect(d.get("numDeleted") == 2, "numDeleted %r" % d.get("numDeleted"))

    cleanup.delete_dataset_groups([dataset_group_arn], [], compat.REGION)


compat.run(main)
