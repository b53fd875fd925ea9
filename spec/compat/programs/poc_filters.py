"""aws-samples next_steps/workshops/POC_in_a_box (completed notebooks 02-05,
condensed to their Personalize calls): user-personalization, SIMS and
personalized-ranking solutions trained together, three campaigns polled as
a list, then the filters of notebook 04 (one per genre, `Interactions.
event_type` in lower case as the workshop writes it, a decade range on an
int YEAR) used in notebook 05's requests; then the samples' clean-up.
"""
import json
import time

import boto3
from botocore.exceptions import ClientError

import compat
import cleanup


def main():
    personalize = boto3.client("personalize")
    personalize_runtime = boto3.client("personalize-runtime")
    bucket_name = compat.personalize_bucket(compat.bucket_name("personalize-poc"))
    movies, ratings = compat.movielens(users=100, items=220, seed=53)
    interactions = []
    for r in ratings:
        interactions.append({"USER_ID": r["userId"], "ITEM_ID": r["movieId"], "TIMESTAMP": r["timestamp"],
                             "EVENT_TYPE": "watch" if r["rating"] > 3 else "click"})
    compat.write_frame(compat.path("interactions.csv"), interactions,
                       ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"])
    items = []
    for m in movies:
        year = m["title"].rsplit("(", 1)[1].rstrip(")") if m["title"].endswith(")") else ""
        items.append({"ITEM_ID": m["movieId"], "GENRE": m["genres"],
                      "YEAR": year if year.isdigit() else None})
    compat.write_frame(compat.path("item-meta.csv"), items, ["ITEM_ID", "GENRE", "YEAR"])
    for name in ["interactions.csv", "item-meta.csv"]:
        boto3.Session().resource("s3").Bucket(bucket_name).Object(name).upload_file(compat.path(name))

    dataset_group_arn = personalize.create_dataset_group(name="personalize-poc-movielens")["datasetGroupArn"]
    compat.wait(lambda: personalize.describe_dataset_group(datasetGroupArn=dataset_group_arn), "datasetGroup")
    interactions_schema_arn = personalize.create_schema(name="personalize-poc-movielens-interactions", schema=json.dumps({
        "type": "record", "name": "Interactions", "namespace": "com.amazonaws.personalize.schema",
        "fields": [{"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"},
                   {"name": "EVENT_TYPE", "type": "string"}, {"name": "TIMESTAMP", "type": "long"}],
        "version": "1.0"}))["schemaArn"]
    itemmetadataschema_arn = personalize.create_schema(name="personalize-poc-movielens-item", schema=json.dumps({
        "type": "record", "name": "Items", "namespace": "com.amazonaws.personalize.schema",
        "fields": [{"name": "ITEM_ID", "type": "string"}, {"name": "GENRE", "type": "string", "categorical": True},
                   {"name": "YEAR", "type": ["null", "int"]}],
        "version": "1.0"}))["schemaArn"]
    interactions_dataset_arn = personalize.create_dataset(
        name="personalize-poc-movielens-ints", datasetType="INTERACTIONS", datasetGroupArn=dataset_group_arn,
        schemaArn=interactions_schema_arn)["datasetArn"]
    items_dataset_arn = personalize.create_dataset(
        name="personalize-poc-movielens-items", datasetType="ITEMS", datasetGroupArn=dataset_group_arn,
        schemaArn=itemmetadataschema_arn)["datasetArn"]
    for name, arn, key in [("interactions", interactions_dataset_arn, "interactions.csv"),
                           ("items", items_dataset_arn, "item-meta.csv")]:
        job_arn = personalize.create_dataset_import_job(
            jobName="personalize-poc-%s-import" % name, datasetArn=arn,
            dataSource={"dataLocation": "s3://" + bucket_name + "/" + key},
            roleArn=compat.ROLE_ARN)["datasetImportJobArn"]
        compat.active(compat.wait(lambda: personalize.describe_dataset_import_job(datasetImportJobArn=job_arn),
                                  "datasetImportJob"), name + " import")

    recipes = {"userpersonalization": "arn:aws:personalize:::recipe/aws-user-personalization",
               "SIMS": "arn:aws:personalize:::recipe/aws-sims",
               "rerank": "arn:aws:personalize:::recipe/aws-personalized-ranking"}
    versions = {}
    for name, recipe in recipes.items():
        solution_arn = personalize.create_solution(
            name="personalize-poc-" + name, datasetGroupArn=dataset_group_arn, recipeArn=recipe)["solutionArn"]
        versions[name] = personalize.create_solution_version(solutionArn=solution_arn)["solutionVersionArn"]
    in_progress = list(versions.values())
    max_time = time.time() + 3 * 60 * 60
    while time.time() < max_time:
        for arn in list(in_progress):
            status = personalize.describe_solution_version(solutionVersionArn=arn)["solutionVersion"]["status"]
            if status in ("ACTIVE", "CREATE FAILED"):
                compat.expect(status == "ACTIVE", "build failed for " + arn)
                in_progress.remove(arn)
        if len(in_progress) <= 0:
            break
        time.sleep(60)

    campaigns = {}
    for name, arn in versions.items():
        campaigns[name] = personalize.create_campaign(
            name="personalize-poc-" + name, solutionVersionArn=arn, minProvisionedTPS=1)["campaignArn"]
    in_progress = list(campaigns.values())
    max_time = time.time() + 3 * 60 * 60
    while time.time() < max_time:
        for arn in list(in_progress):
            status = personalize.describe_campaign(campaignArn=arn)["campaign"]["status"]
            if status in ("ACTIVE", "CREATE FAILED"):
                compat.expect(status == "ACTIVE", "build failed for " + arn)
                in_progress.remove(arn)
        if len(in_progress) <= 0:
            break
        time.sleep(60)

    genres_to_filter = ["Western", "Documentary", "Comedy", "Action"]
    meta_filter_arns = []
    for genre in genres_to_filter:
        try:
            createfilter_response = personalize.create_filter(
                name=genre, datasetGroupArn=dataset_group_arn,
                filterExpression='INCLUDE ItemID WHERE Items.GENRE IN ("' + genre + '")')
            meta_filter_arns.append(createfilter_response["filterArn"])
        except ClientError as error:
            if error.response["Error"]["Code"] != "LimitExceededException":
                raise
    compat.expect(len(meta_filter_arns) == 4, "genre filters: %r" % meta_filter_arns)
    watched = personalize.create_filter(
        name="watched", datasetGroupArn=dataset_group_arn,
        filterExpression='INCLUDE ItemID WHERE Interactions.event_type IN ("watch")')["filterArn"]
    unwatched = personalize.create_filter(
        name="unwatched", datasetGroupArn=dataset_group_arn,
        filterExpression='EXCLUDE ItemID WHERE Interactions.event_type IN ("watch")')["filterArn"]
    decade = personalize.create_filter(
        name="1970s", datasetGroupArn=dataset_group_arn,
        filterExpression="INCLUDE ItemID WHERE Items.YEAR >= 1970 AND Items.YEAR < 1980")["filterArn"]

    genres = {m["movieId"]: m["genres"].split("|") for m in movies}
    years = {i["ITEM_ID"]: i["YEAR"] for i in items}
    user_id = interactions[100]["USER_ID"]
    watched_by_user = {r["ITEM_ID"] for r in interactions if r["USER_ID"] == user_id and r["EVENT_TYPE"] == "watch"}
    for genre, arn in zip(genres_to_filter, meta_filter_arns):
        item_list = personalize_runtime.get_recommendations(
            campaignArn=campaigns["userpersonalization"], userId=user_id, filterArn=arn)["itemList"]
        compat.expect(all(genre in genres[i["itemId"]] for i in item_list), genre + " filter let others through")
    item_list = personalize_runtime.get_recommendations(
        campaignArn=campaigns["userpersonalization"], userId=user_id, filterArn=unwatched)["itemList"]
    compat.expect(not any(i["itemId"] in watched_by_user for i in item_list), "unwatched filter kept watched")
    item_list = personalize_runtime.get_recommendations(
        campaignArn=campaigns["userpersonalization"], userId=user_id, filterArn=watched)["itemList"]
    compat.expect(all(i["itemId"] in watched_by_user for i in item_list), "watched filter let others through")
    item_list = personalize_runtime.get_recommendations(
        campaignArn=campaigns["SIMS"], itemId=interactions[0]["ITEM_ID"], filterArn=decade)["itemList"]
    compat.expect(all(1970 <= int(years[i["itemId"]]) < 1980 for i in item_list), "1970s filter")
    ranked = personalize_runtime.get_personalized_ranking(
        campaignArn=campaigns["rerank"], userId=user_id,
        inputList=[m["movieId"] for m in movies[:25]])["personalizedRanking"]
    compat.expect(sorted(i["itemId"] for i in ranked) == sorted(m["movieId"] for m in movies[:25]), "ranking")

    cleanup.delete_dataset_groups([dataset_group_arn], [], compat.REGION)


compat.run(main)
