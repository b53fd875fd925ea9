"""The samples' Clean_Up_Resources notebooks as a module: every resource of
a dataset group deleted in dependency order (campaigns, solutions,
recommenders, event trackers, filters, datasets and their schemas, the
dataset group; metric attributions first when asked, as the
measuring-impact notebook's variant does), each kind deleted and then polled with describe_* until
it is gone (ResourceNotFoundException), 20-second sleeps between polls.
"""
import logging
import sys
import time

import boto3
from botocore.exceptions import ClientError

logger = logging.getLogger("cleanup")
logger.addHandler(logging.StreamHandler(sys.stdout))
logger.setLevel(logging.INFO)

personalize = None


def _wait_gone(kind, arns, describe):
    max_time = time.time() + 30 * 60
    while time.time() < max_time:
        for arn in list(arns):
            try:
                describe(arn)
            except ClientError as e:
                if e.response["Error"]["Code"] == "ResourceNotFoundException":
                    arns.remove(arn)
        if len(arns) == 0:
            logger.info("All %s have been deleted or none exist for dataset group", kind)
            break
        logger.info("Waiting for %d %s to be deleted", len(arns), kind)
        time.sleep(20)
    if len(arns) > 0:
        raise Exception("Timed out waiting for all %s to be deleted" % kind)


def _delete_campaigns(solution_arns):
    campaign_arns = []
    for solution_arn in solution_arns:
        paginator = personalize.get_paginator("list_campaigns")
        for page in paginator.paginate(solutionArn=solution_arn):
            for campaign in page["campaigns"]:
                if campaign["status"] in ["ACTIVE", "CREATE FAILED"]:
                    logger.info("Deleting campaign: " + campaign["campaignArn"])
                    personalize.delete_campaign(campaignArn=campaign["campaignArn"])
                elif campaign["status"].startswith("DELETE"):
                    logger.warning("Campaign %s is already being deleted", campaign["campaignArn"])
                else:
                    raise Exception("Campaign {} has a status of {} so cannot be deleted".format(
                        campaign["campaignArn"], campaign["status"]))
                campaign_arns.append(campaign["campaignArn"])
    _wait_gone("campaigns", campaign_arns, lambda arn: personalize.describe_campaign(campaignArn=arn))


def _delete_solutions(solution_arns):
    for solution_arn in solution_arns:
        try:
            solution = personalize.describe_solution(solutionArn=solution_arn)["solution"]
            if solution["status"] in ["ACTIVE", "CREATE FAILED"]:
                logger.info("Deleting solution: " + solution_arn)
                personalize.delete_solution(solutionArn=solution_arn)
            elif solution["status"].startswith("DELETE"):
                logger.warning("Solution %s is already being deleted", solution_arn)
            else:
                raise Exception("Solution {} has a status of {} so cannot be deleted".format(
                    solution_arn, solution["status"]))
        except ClientError as e:
            if e.response["Error"]["Code"] != "ResourceNotFoundException":
                raise e
    _wait_gone("solutions", list(solution_arns), lambda arn: personalize.describe_solution(solutionArn=arn))


def _delete_recommenders(dataset_group_arn):
    recommender_arns = []
    response = personalize.list_recommenders(datasetGroupArn=dataset_group_arn, maxResults=100)
    for recommender in response["recommenders"]:
        logger.info("Deleting recommender " + recommender["recommenderArn"])
        personalize.delete_recommender(recommenderArn=recommender["recommenderArn"])
        recommender_arns.append(recommender["recommenderArn"])
    _wait_gone("recommenders", recommender_arns, lambda arn: personalize.describe_recommender(recommenderArn=arn))


def _delete_event_trackers(dataset_group_arn):
    event_tracker_arns = []
    paginator = personalize.get_paginator("list_event_trackers")
    for page in paginator.paginate(datasetGroupArn=dataset_group_arn):
        for tracker in page["eventTrackers"]:
            if tracker["status"] in ["ACTIVE", "CREATE FAILED"]:
                logger.info("Deleting event tracker {}".format(tracker["eventTrackerArn"]))
                personalize.delete_event_tracker(eventTrackerArn=tracker["eventTrackerArn"])
            elif tracker["status"].startswith("DELETE"):
                logger.warning("Event tracker %s is already being deleted", tracker["eventTrackerArn"])
            else:
                raise Exception("Event tracker {} has a status of {} so cannot be deleted".format(
                    tracker["eventTrackerArn"], tracker["status"]))
            event_tracker_arns.append(tracker["eventTrackerArn"])
    _wait_gone("event trackers", event_tracker_arns,
               lambda arn: personalize.describe_event_tracker(eventTrackerArn=arn))


def _delete_filters(dataset_group_arn):
    filter_arns = []
    response = personalize.list_filters(datasetGroupArn=dataset_group_arn, maxResults=100)
    for f in response["Filters"]:
        logger.info("Deleting filter " + f["filterArn"])
        personalize.delete_filter(filterArn=f["filterArn"])
        filter_arns.append(f["filterArn"])
    _wait_gone("filters", filter_arns, lambda arn: personalize.describe_filter(filterArn=arn))


def _delete_metric_attributions(dataset_group_arn):
    # the measuring-impact notebook's variant: delete, then one sleep
    response = personalize.list_metric_attributions(datasetGroupArn=dataset_group_arn)
    for metric in response["metricAttributions"]:
        personalize.delete_metric_attribution(metricAttributionArn=metric["metricAttributionArn"])
    logger.info("All metric attributions have been deleted or none exist for dataset group")
    time.sleep(120)


def _delete_datasets_and_schemas(dataset_group_arn, schema_arns):
    dataset_arns = []
    paginator = personalize.get_paginator("list_datasets")
    for page in paginator.paginate(datasetGroupArn=dataset_group_arn):
        for dataset in page["datasets"]:
            describe_response = personalize.describe_dataset(datasetArn=dataset["datasetArn"])
            schema_arns.append(describe_response["dataset"]["schemaArn"])
            if dataset["status"] in ["ACTIVE", "CREATE FAILED"]:
                logger.info("Deleting dataset " + dataset["datasetArn"])
                personalize.delete_dataset(datasetArn=dataset["datasetArn"])
            elif dataset["status"].startswith("DELETE"):
                logger.warning("Dataset %s is already being deleted", dataset["datasetArn"])
            else:
                raise Exception("Dataset {} has a status of {} so cannot be deleted".format(
                    dataset["datasetArn"], dataset["status"]))
            dataset_arns.append(dataset["datasetArn"])
    _wait_gone("datasets", dataset_arns, lambda arn: personalize.describe_dataset(datasetArn=arn))
    for schema_arn in schema_arns:
        try:
            logger.info("Deleting schema " + schema_arn)
            personalize.delete_schema(schemaArn=schema_arn)
        except ClientError as e:
            if e.response["Error"]["Code"] == "ResourceInUseException":
                logger.info("Schema %s is still in use by another dataset", schema_arn)
            else:
                raise e


def _delete_dataset_group(dataset_group_arn):
    # As the samples wrote it: the loop ends at the first describe that
    # answers (the group is then DELETE PENDING). On ResourceNotFound the
    # samples log and poll again until their 30-minute limit; here that
    # ends the loop too.
    logger.info("Deleting dataset group " + dataset_group_arn)
    personalize.delete_dataset_group(datasetGroupArn=dataset_group_arn)
    max_time = time.time() + 30 * 60
    while time.time() < max_time:
        try:
            personalize.describe_dataset_group(datasetGroupArn=dataset_group_arn)
            break
        except ClientError as e:
            if e.response["Error"]["Code"] == "ResourceNotFoundException":
                logger.info("Dataset group {} has been fully deleted".format(dataset_group_arn))
                break
            raise e


def delete_dataset_groups(dataset_group_arns, schema_arns, region=None, metric_attributions=False):
    global personalize
    personalize = boto3.client(service_name="personalize", region_name=region)
    for dataset_group_arn in dataset_group_arns:
        solution_arns = []
        paginator = personalize.get_paginator("list_solutions")
        for page in paginator.paginate(datasetGroupArn=dataset_group_arn):
            for solution in page["solutions"]:
                solution_arns.append(solution["solutionArn"])
        _delete_campaigns(solution_arns)
        _delete_solutions(solution_arns)
        _delete_recommenders(dataset_group_arn)
        _delete_event_trackers(dataset_group_arn)
        _delete_filters(dataset_group_arn)
        if metric_attributions:
            _delete_metric_attributions(dataset_group_arn)
        _delete_datasets_and_schemas(dataset_group_arn, schema_arns)
        _delete_dataset_group(dataset_group_arn)
        logger.info("Dataset group %s fully deleted", dataset_group_arn)
